"""Stateful handlers: how ``reset_net`` and ``detach_net`` treat foreign stateful modules.

Plugins return :class:`StatefulHandler` entries from the ``spikelayers_stateful_handlers``
hook. They are collected once per plugin snapshot, one plugin at a time: a plugin
whose hook raises or returns something else than handlers is reported by
``spikelayers plugins`` and contributes none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from .plugins import Registry, get_registry, hook_results

HOOK = "spikelayers_stateful_handlers"


@dataclass(frozen=True)
class StatefulHandler:
    """How to reset and detach stateful modules that are not :class:`~spikelayers.base.MemoryModule`.

    ``types`` are the module classes handled; ``reset`` and ``detach`` take one module.
    """

    types: tuple[type, ...]
    reset: Callable[[nn.Module], None]
    detach: Callable[[nn.Module], None] | None = None


def _collect(registry: Registry) -> tuple[StatefulHandler, ...]:
    found: list[StatefulHandler] = []
    for info, contributed in hook_results(HOOK, registry=registry):
        try:
            handlers = list(contributed)
        except TypeError:
            handlers = [contributed]
        bad = [h for h in handlers if not isinstance(h, StatefulHandler)]
        if bad:
            registry.record_problem(
                info.name, HOOK, f"{HOOK} must return StatefulHandler entries, got {type(bad[0]).__name__}"
            )
            continue
        found.extend(handlers)
    return tuple(found)


def stateful_handlers() -> tuple[StatefulHandler, ...]:
    """Every handler contributed by the healthy plugins (computed once per snapshot)."""
    return get_registry().cached(HOOK, _collect)


def handler_for(module: nn.Module) -> StatefulHandler | None:
    """The first handler whose ``types`` include ``module``, if any."""
    for handler in stateful_handlers():
        if isinstance(module, handler.types):
            return handler
    return None
