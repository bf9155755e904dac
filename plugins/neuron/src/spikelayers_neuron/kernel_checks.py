"""Helpers of the tests that hold a neuron kernel to its reference (triton, compiled).

A kernel ``fn(x_seq, v0, k, config) -> (spike_seq, v)`` runs once from fresh leaves
(:class:`KernelRun`); both runs are then differentiated through the same weighted sum
of their outputs (:func:`loss_weights`), so their gradients can be compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def loss_weights(
    shape_s: torch.Size | tuple[int, ...], shape_v: torch.Size | tuple[int, ...], keep: torch.Tensor, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random weights of the spikes and of the potential in the loss, exact in bfloat16 (so
    both runs get the same upstream gradients) and zero on the neurons not in ``keep``."""
    g = torch.Generator().manual_seed(1000 + seed)
    w_s = torch.randn(shape_s, generator=g).bfloat16().float().to(keep.device)
    w_v = torch.randn(shape_v, generator=g).bfloat16().float().to(keep.device)
    return w_s * keep, w_v * keep


class KernelRun:
    """One forward pass of ``fn`` from fresh leaves ``x [T, N, *]``, ``v0 [N, *]`` and ``k``
    (when a tensor); ``v`` is the final potential unless ``config.store_v_seq``."""

    def __init__(self, fn: Callable[..., Any], x: torch.Tensor, v0: torch.Tensor, k: Any, config: Any) -> None:
        x, v0 = x.detach().clone().requires_grad_(), v0.detach().clone().requires_grad_()
        k = k.detach().clone().requires_grad_() if isinstance(k, torch.Tensor) else k
        self.leaves = [x, v0, k] if isinstance(k, torch.Tensor) else [x, v0]
        self.spikes, self.v = fn(x, v0, k, config)
        if not config.store_v_seq and self.v.dim() == x.dim():
            self.v = self.v[-1]

    def backward(self, w_s: torch.Tensor, w_v: torch.Tensor) -> list[torch.Tensor]:
        """The leaves' gradients of ``sum(spikes * w_s) + sum(v * w_v)``."""
        ((self.spikes.float() * w_s).sum() + (self.v.float() * w_v).sum()).backward()
        return [leaf.grad for leaf in self.leaves]
