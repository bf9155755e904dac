"""Surrogate-gradient functions: a Heaviside step forward, a smooth derivative backward.

Each function maps a membrane potential above threshold, ``x = h - v_threshold`` (any
shape), to a spike ``heaviside(x) = (x >= 0)``. With ``spiking=True`` the backward
pass uses the derivative of a smooth primitive instead of the step's zero/undefined
derivative; with ``spiking=False`` the forward is the smooth primitive itself.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``1`` where ``x >= 0``, else ``0``, in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


class _SurrogateSpike(torch.autograd.Function):
    """Heaviside forward, ``surrogate.derivative`` backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, surrogate: SurrogateFunctionBase) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        (x,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None
        return grad * ctx.surrogate.derivative(x), None


class SurrogateFunctionBase(nn.Module):
    """Base class of surrogate-gradient functions.

    Subclasses define :meth:`primitive` (the smooth function whose derivative stands in
    for the step's) and :meth:`derivative`. The fused multi-step kernels of the neurons
    call :meth:`derivative_` on whole sequences; override it to save memory.

    Args:
        alpha: sharpness; larger values approach the step function.
        spiking: ``True`` for a Heaviside forward with the surrogate backward,
            ``False`` for the smooth primitive in both passes.
    """

    def __init__(self, alpha: float, spiking: bool = True) -> None:
        super().__init__()
        self.alpha = alpha
        self.spiking = spiking

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """The smooth function ``[*] -> [*]`` whose derivative is the surrogate."""
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate derivative ``d primitive / dx`` at ``x`` (``[*] -> [*]``)."""
        raise NotImplementedError

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        """Overwrite ``x`` with :meth:`derivative` of it and return ``x``."""
        return x.copy_(self.derivative(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spiking:
            return _SurrogateSpike.apply(x, self)
        return self.primitive(x)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, spiking={self.spiking}"


class Sigmoid(SurrogateFunctionBase):
    """Primitive ``sigmoid(alpha * x)``; derivative ``alpha * sg * (1 - sg)``.

    Args:
        alpha: sharpness of the sigmoid.
        spiking: Heaviside forward (``True``) or the sigmoid itself (``False``).
    """

    def __init__(self, alpha: float = 4.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        sg = torch.sigmoid(self.alpha * x)
        return self.alpha * sg * (1.0 - sg)

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        sg = x.mul_(self.alpha).sigmoid_()
        return sg.addcmul_(sg, sg, value=-1.0).mul_(self.alpha)


class ATan(SurrogateFunctionBase):
    """Primitive ``atan(pi/2 * alpha * x) / pi + 1/2``; derivative
    ``alpha / 2 / (1 + (pi/2 * alpha * x)**2)``.

    Args:
        alpha: sharpness of the arctangent.
        spiking: Heaviside forward (``True``) or the arctangent itself (``False``).
    """

    def __init__(self, alpha: float = 2.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.atan(math.pi / 2 * self.alpha * x) / math.pi + 0.5

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / 2 / (1 + (math.pi / 2 * self.alpha * x) ** 2)

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(math.pi / 2 * self.alpha)
        return x.mul_(x).add_(1.0).reciprocal_().mul_(self.alpha / 2)


class PiecewiseQuadratic(SurrogateFunctionBase):
    """Primitive: ``0`` below ``-1/alpha``, ``1`` above ``1/alpha`` and
    ``-alpha**2/2 * |x| * x + alpha * x + 1/2`` between; derivative
    ``max(alpha - alpha**2 * |x|, 0)``.

    Args:
        alpha: half-width ``1/alpha`` of the region with a non-zero gradient.
        spiking: Heaviside forward (``True``) or the quadratic primitive (``False``).
    """

    def __init__(self, alpha: float = 1.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        inner = -0.5 * self.alpha**2 * x.abs() * x + self.alpha * x + 0.5
        bound = 1.0 / self.alpha
        return torch.where(x > bound, torch.ones_like(x), torch.where(x < -bound, torch.zeros_like(x), inner))

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.alpha - self.alpha**2 * x.abs(), min=0.0)

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs_().mul_(-(self.alpha**2)).add_(self.alpha).clamp_(min=0.0)
