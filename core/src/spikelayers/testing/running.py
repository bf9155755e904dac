"""Running a layer over a sequence and reading its memories: what the kit's checks share."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from ..base import MemoryModule
from .case import output_tensors

RNG_SEED = 1234


def run_sequence(layer: nn.Module, x_seq: torch.Tensor, step_mode: str) -> list[torch.Tensor]:
    """Feed ``x_seq`` ``[T, N, *]`` to ``layer`` in ``step_mode``; outputs stacked over T."""
    torch.manual_seed(RNG_SEED)
    if step_mode == "m":
        return output_tensors(layer(x_seq))
    steps = [output_tensors(layer(x)) for x in x_seq]
    return [torch.stack(parts) for parts in zip(*steps)]


def snapshot_memories(layer: nn.Module) -> dict[str, Any]:
    """Every memory of every :class:`MemoryModule` in ``layer``, detached and cloned."""
    found: dict[str, Any] = {}
    for module_name, module in layer.named_modules():
        if isinstance(module, MemoryModule):
            for name, value in module.named_memories():
                found[f"{module_name}.{name}".lstrip(".")] = detached(value)
    return found


def detached(value: Any) -> Any:
    """``value`` (a tensor, or a list/tuple of them) detached and cloned; other values copied."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(detached(v) for v in value)
    return copy.copy(value)
