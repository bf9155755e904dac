"""An autograd function that shows one value and routes its gradient to another."""

from __future__ import annotations

from typing import Any

import torch


class ReplaceforGrad(torch.autograd.Function):
    """``forward(x, x_r)`` returns the value of ``x_r``; backward hands the incoming
    gradient unchanged to both ``x`` and ``x_r``.

    Use it as ``ReplaceforGrad.apply(x, x_r)`` with ``x`` and ``x_r`` of one shape:
    the result has ``x_r``'s values and passes gradients to ``x`` (typically computed
    from a trace) as if it were ``x``.
    """

    generate_vmap_rule = True  # plain torch ops: torch.func.vmap batches them as they are

    @staticmethod
    def forward(x: torch.Tensor, x_r: torch.Tensor) -> torch.Tensor:
        """Return (a copy of) ``x_r``; ``x`` only receives the gradient."""
        return x_r.clone()

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, torch.Tensor], output: torch.Tensor) -> None:
        """Nothing to keep: the backward only passes the gradient on."""

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hand ``grad`` to both ``x`` and ``x_r``."""
        return grad, grad
