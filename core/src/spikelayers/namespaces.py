"""Lazy namespaces: ``spikelayers.layer``, ``spikelayers.neuron``, ``spikelayers.surrogate``.

A name is resolved through the plugin registry on first use and its plugin module is
imported only then. ``dir()`` lists every name the installed plugins provide.

A name that cannot be given raises a :class:`~spikelayers.errors.PluginUnavailableError`
(an ``AttributeError``, so ``hasattr`` answers ``False``) saying why; ``from
spikelayers.layer import X`` turns it into an ``ImportError`` with the same message.
"""

from __future__ import annotations

import difflib
import dis
import sys
from types import FrameType
from typing import Any

from .catalog import KNOWN, distribution_for
from .errors import (
    PluginBrokenError,
    PluginConflictError,
    PluginFilteredError,
    PluginNotInstalledError,
    PluginUnavailableError,
)
from .plugins import BROKEN, CONFLICTING, FILTERED, NAMESPACES, SELECT_ENV, PluginInfo, Registry, get_registry
from .targets import load_target


def resolve(namespace: str, name: str) -> Any:
    """Return the object that ``spikelayers.<namespace>.<name>`` stands for.

    Raises a :class:`PluginUnavailableError` subclass for a name whose plugin is not
    installed, excluded, broken or in conflict, and ``AttributeError`` with close
    matches (or the namespace that has the name) otherwise.
    """
    registry = get_registry()
    target = registry.targets[namespace].get(name)
    if target is None:
        raise unavailable(registry, namespace, name)
    try:
        return load_target(target)
    except Exception as error:
        info = registry.plugins[registry.owners[namespace][name]]
        raise PluginBrokenError(
            namespace,
            name,
            info.distribution,
            f"spikelayers.{namespace}.{name} is provided by {info.label} as {target!r}, which failed to "
            f"import: {type(error).__name__}: {error}; {info.exclude_hint}",
            plugin=info.name,
        ) from error


def unavailable(registry: Registry, namespace: str, name: str) -> AttributeError:
    """The error that explains why ``spikelayers.<namespace>.<name>`` is not there."""
    claimants = [registry.plugins[p] for p in registry.claimed[namespace].get(name, ())]
    if claimants:
        return _claimed_error(namespace, name, claimants)
    distribution = distribution_for(namespace, name)
    if distribution is not None:
        from_distribution = [info for info in registry.plugins.values() if info.distribution == distribution]
        filtered = [info for info in from_distribution if info.status == FILTERED]
        broken = [info for info in from_distribution if info.status in (BROKEN, CONFLICTING)]
        if broken:
            return _claimed_error(namespace, name, broken)
        if filtered:
            names = ", ".join(repr(info.name) for info in filtered)
            return PluginFilteredError(
                namespace,
                name,
                distribution,
                f"spikelayers.{namespace}.{name} is provided by the distribution '{distribution}', which is "
                f"installed, but its plugin {names} is excluded by {registry.selection.describe()}; unset "
                f"{SELECT_ENV} or add {filtered[0].name} to it",
            )
        if not from_distribution:
            return PluginNotInstalledError(namespace, name, distribution)
    message = f"module 'spikelayers.{namespace}' has no attribute {name!r}"
    elsewhere = _other_namespaces(registry, namespace, name)
    if elsewhere:
        message += f"; it is {' and '.join(f'spikelayers.{ns}.{name}' for ns in elsewhere)}"
    else:
        close = difflib.get_close_matches(name, sorted(registry.targets[namespace]), n=3)
        if close:
            message += f"; did you mean {', '.join(close)}?"
    unknown_provides = [info for info in registry.with_status(BROKEN) if not info.provides]
    if unknown_provides and not elsewhere:
        return _claimed_error(namespace, name, unknown_provides, may=True, prefix=message)
    filtered = registry.with_status(FILTERED)
    if filtered:
        message += (
            f" (the plugins {', '.join(info.name for info in filtered)} are installed but excluded by "
            f"{registry.selection.describe()}, so their names are not known)"
        )
    return AttributeError(message, name=name)


def _claimed_error(
    namespace: str, name: str, plugins: list[PluginInfo], may: bool = False, prefix: str | None = None
) -> PluginBrokenError:
    conflict = all(info.status == CONFLICTING for info in plugins)
    described = "; ".join(f"{info.label} is {info.status}: {info.reason}; {info.exclude_hint}" for info in plugins)
    if may:
        message = f"{prefix}; it may belong to a plugin that could not be asked: {described}"
    else:
        message = f"spikelayers.{namespace}.{name} cannot be used: {described}"
    error_type = PluginConflictError if conflict else PluginBrokenError
    first = plugins[0]
    error = error_type(namespace, name, first.distribution, message, plugin=first.name)
    error.__cause__ = first.error
    return error


def _other_namespaces(registry: Registry, namespace: str, name: str) -> list[str]:
    return [ns for ns in NAMESPACES if ns != namespace and (name in registry.targets[ns] or name in KNOWN.get(ns, {}))]


def names(namespace: str) -> list[str]:
    """Every name the installed plugins provide in ``namespace``, sorted."""
    return sorted(get_registry().targets[namespace])


def _called_by_from_import(frame: FrameType | None) -> bool:
    """Whether ``frame`` is executing ``from module import name`` (CPython bytecode)."""
    if frame is None:
        return False
    try:
        code = frame.f_code.co_code
        return code[frame.f_lasti] == dis.opmap["IMPORT_FROM"]
    except (AttributeError, IndexError, KeyError):
        return False


def make_module_hooks(namespace: str, module_globals: dict[str, Any]) -> tuple[Any, Any]:
    """Build the ``__getattr__`` and ``__dir__`` functions of a lazy namespace module."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return resolve(namespace, name)
        except PluginUnavailableError as error:
            # `from ... import` swallows an AttributeError's message; keep it as an ImportError.
            if _called_by_from_import(sys._getframe(1)):
                raise ImportError(str(error), name=module_globals.get("__name__")) from error
            raise

    def __dir__() -> list[str]:
        own = [key for key in module_globals if not key.startswith("_")]
        return sorted(set(own) | set(names(namespace)))

    return __getattr__, __dir__
