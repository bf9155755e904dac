"""The derivative of a neuron's surrogate function, for hand-written backward passes."""

from __future__ import annotations

from collections.abc import Callable

import torch

Surrogate = Callable[[torch.Tensor], torch.Tensor]


def surrogate_derivative_(surrogate: Surrogate, z: torch.Tensor) -> torch.Tensor:
    """``d surrogate(z) / dz`` element-wise, overwriting ``z`` when it can.

    Surrogates with an in-place ``derivative_`` (the built-in ones) compute it in ``z``'s
    memory without temporaries; any other element-wise surrogate module is
    differentiated by autograd on ``z``.
    """
    in_place = getattr(surrogate, "derivative_", None)
    if in_place is not None:
        try:
            return in_place(z)
        except NotImplementedError:
            pass
    return surrogate_and_derivative(surrogate, z)[1]


def surrogate_and_derivative(surrogate: Surrogate, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(surrogate(z), d surrogate(z) / dz)`` for an element-wise surrogate, by autograd."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        out = surrogate(z)
        (derivative,) = torch.autograd.grad(out, z, torch.ones_like(out))
    return out.detach(), derivative
