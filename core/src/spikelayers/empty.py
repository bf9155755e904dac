"""Outputs for empty sequences: ``[0, N, *] -> [0, N, *']`` without running a step.

A layer or container given a sequence of ``T = 0`` steps returns empty outputs of the
shape a real step would give, and changes no state. The per-step output shape comes from
running copies of the modules on the ``meta`` device: no data, no computation, no effect
on the originals' memories, running statistics or random streams.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

StepCall = Callable[[nn.Module, Any], Any]


def _call(module: nn.Module, x: Any) -> Any:
    return module(x)


def empty_sequence_output(
    x_seq: torch.Tensor, modules: Sequence[nn.Module], step: StepCall = _call, *args: Any, **kwargs: Any
) -> Any:
    """The output of ``modules``, run one step at a time, for the empty sequence ``x_seq`` ``[0, N, *]``.

    ``step(module, x, *args, **kwargs)`` runs one step of one module (by default
    ``module(x)``). Returns ``[0, N, *']`` tensors, in the structure (a tensor, or a
    list/tuple of them) a step returns. Raises ``ValueError`` naming the modules if the
    shape cannot be found on ``meta``.
    """
    probe = _meta_copies(modules)
    y: Any = torch.empty(x_seq.shape[1:], dtype=x_seq.dtype, device="meta")
    try:
        with torch.no_grad():
            for module in probe:
                y = step(module, y, *args, **kwargs)
    except Exception as error:
        names = ", ".join(type(m).__name__ for m in modules)
        raise ValueError(
            f"{names}: cannot find the output shape for an empty sequence {tuple(x_seq.shape)} "
            f"(the step does not run on the meta device: {error})"
        ) from error
    return _empty_like(y, x_seq.device)


def _empty_like(y: Any, device: torch.device) -> Any:
    if isinstance(y, torch.Tensor):
        return torch.empty((0, *y.shape), dtype=y.dtype, device=device)
    if isinstance(y, (list, tuple)):
        return type(y)(_empty_like(item, device) for item in y)
    raise TypeError(f"empty sequence: a step returns {type(y).__name__}, not a tensor or a list of tensors")


def _meta_copies(modules: Sequence[nn.Module]) -> list[nn.Module]:
    """Deep copies of ``modules`` whose tensors (parameters, buffers, memories) live on ``meta``.

    Parameters and buffers are never copied: the copies get ``meta`` tensors of their
    shape. Memories are copied by value (they are state-sized) and then moved to ``meta``.
    """
    memo: dict[int, Any] = {}
    for module in modules:
        for sub in module.modules():
            for tensor in [*sub._parameters.values(), *sub._buffers.values()]:
                if tensor is None or id(tensor) in memo:
                    continue
                meta = torch.empty_like(tensor, device="meta")
                if isinstance(tensor, nn.Parameter):
                    meta = nn.Parameter(meta, requires_grad=tensor.requires_grad)
                memo[id(tensor)] = meta
    return [copy.deepcopy(module, memo).to("meta") for module in modules]
