"""Explicit state: a network's memories as a flat mapping, and a stateless forward.

A spikelayers network keeps its state (its *memories*) inside its modules. For
``torch.func`` (``vmap`` over seeds, per-sample gradients), ``torch.export`` and ONNX the
state must instead travel in and out of the call. :func:`memories` reads every memory of
a network as one ordered mapping named like ``state_dict`` (``"features.2.v"``),
:func:`load_memories` writes such a mapping back, and :func:`stateless_forward` runs the
network on given memories and returns the new ones, leaving the modules' own memories as
they were.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from .base import MemoryModule

__all__ = ["load_memories", "memories", "memory_modules", "stateless_forward"]


def memory_modules(net: nn.Module) -> Iterator[tuple[str, MemoryModule]]:
    """``(prefix, module)`` of every :class:`MemoryModule` in ``net``, in ``named_modules`` order.

    ``prefix`` is the module's name followed by a dot (empty for ``net`` itself), so
    ``prefix + memory name`` is the memory's full name.
    """
    for name, module in net.named_modules():
        if isinstance(module, MemoryModule):
            yield (f"{name}." if name else ""), module


def memories(net: nn.Module) -> dict[str, Any]:
    """Every memory of ``net`` as a flat, ordered mapping ``{"features.2.v": value}``.

    Names are the module's name (as in ``state_dict``) and the memory's, joined by a dot;
    the order is that of ``net.named_modules()``, then each module's registration order.
    Values are what the modules hold now, not copies: a tensor ``[N, *]`` once a step has
    run, the registered initial value (a number or ``None``) after a reset.
    """
    found: dict[str, Any] = {}
    for prefix, module in memory_modules(net):
        for name, value in module.named_memories():
            found[prefix + name] = value
    return found


def _owners(net: nn.Module) -> dict[str, tuple[str, MemoryModule, str]]:
    """Full memory name -> (module name, module, memory name)."""
    return {
        prefix + name: (prefix.rstrip("."), module, name)
        for prefix, module in memory_modules(net)
        for name in module._memories
    }


def _unknown_names(net: nn.Module, given: Mapping[str, Any], known: Mapping[str, Any], caller: str) -> KeyError:
    unknown = [name for name in given if name not in known]
    hints = {name: difflib.get_close_matches(name, list(known), n=1) for name in unknown}
    described = ", ".join(
        f"{name!r}" + (f" (did you mean {hints[name][0]!r}?)" if hints[name] else "") for name in unknown
    )
    return KeyError(f"{caller}: {type(net).__name__} has no memory named {described}; its memories are {list(known)}")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {str(value.dtype).removeprefix('torch.')}"
    return repr(value)


def load_memories(net: nn.Module, new_memories: Mapping[str, Any]) -> None:
    """Set the memories of ``net`` named in ``new_memories`` (a mapping like :func:`memories`).

    Names missing from the mapping keep their value. A tensor replacing a tensor must have
    its shape and dtype; one replacing a number or ``None`` (a memory not yet used since
    a reset) may have any shape. Every value is checked before any is set, so an error
    (``KeyError`` for an unknown name, ``ValueError`` or ``TypeError`` naming the module
    and the memory for a bad value) leaves the network as it was.
    """
    owners = _owners(net)
    if any(name not in owners for name in new_memories):
        raise _unknown_names(net, new_memories, owners, "load_memories")
    for full_name, value in new_memories.items():
        module_name, module, name = owners[full_name]
        owner = f"{module_name!r}" if module_name else "(the network itself)"
        where = f"load_memories: {type(module).__name__} {owner}, memory {name!r}"
        current = module._memories[name]
        if value is not None and not isinstance(value, (torch.Tensor, int, float, bool)):
            raise TypeError(f"{where}: expected a tensor, a number or None, got {type(value).__name__}")
        if isinstance(current, torch.Tensor):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{where}: expected {_describe(current)}, got {_describe(value)}")
            if value.shape != current.shape or value.dtype != current.dtype:
                raise ValueError(f"{where}: expected {_describe(current)}, got {_describe(value)}")
    for full_name, value in new_memories.items():
        _, module, name = owners[full_name]
        module._memories[name] = value


@contextmanager
def _swapped_memories(net: nn.Module, given: Mapping[str, Any]) -> Iterator[dict[str, dict[str, Any]]]:
    """Give every memory module of ``net`` a fresh memory dict holding ``given`` (and the
    module's own values for names not given) for the duration; put the originals back."""
    swapped: list[tuple[MemoryModule, dict[str, Any]]] = []
    fresh: dict[str, dict[str, Any]] = {}
    try:
        for prefix, module in memory_modules(net):
            original = module.__dict__["_memories"]
            values = {name: given.get(prefix + name, value) for name, value in original.items()}
            module.__dict__["_memories"] = values
            swapped.append((module, original))
            fresh[prefix] = values
        yield fresh
    finally:
        for module, original in swapped:
            module.__dict__["_memories"] = original


def stateless_forward(
    net: nn.Module,
    x: Any,
    memories: Mapping[str, Any],
    params: Mapping[str, torch.Tensor] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Run ``net(x)`` from the state ``memories``; return ``(output, new_memories)``.

    ``x`` is one step ``[N, *]`` or a sequence ``[T, N, *]``, as the network's step mode
    expects; ``memories`` maps memory names (as :func:`memories` gives them) to values and
    may omit memories, which then start from the module's current value. ``params``
    optionally replaces parameters and buffers by name, as in
    :func:`torch.func.functional_call`, on which this is built. ``new_memories`` holds
    every memory, in the order of :func:`memories`, after the call.

    The modules' own memories are left as they were, so the call is a pure function of
    its arguments (randomness aside): it composes with :func:`torch.func.vmap`,
    :func:`torch.func.grad`, ``torch.export`` and ``torch.compile``. (The memories are
    swapped in for the duration of the call, so two threads must not run the same network
    object at once.) Raises ``KeyError`` for a name the network does not have.
    """
    owners = _owners(net)
    if any(name not in owners for name in memories):
        raise _unknown_names(net, memories, owners, "stateless_forward")
    with _swapped_memories(net, memories) as fresh:
        output = torch.func.functional_call(net, dict(params or {}), (x,), strict=False)
        new_memories = {prefix + name: value for prefix, values in fresh.items() for name, value in values.items()}
    return output, new_memories
