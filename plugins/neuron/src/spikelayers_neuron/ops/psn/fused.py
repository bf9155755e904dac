"""The parallel spiking neurons as one matrix product over time.

The charge of every step is a linear function of the whole input sequence, so the
``T`` charges are one ``addmm`` ``[T, T] @ [T, N*...]`` and the surrogate runs once on
the result: no loop over ``T``, and the backward (:class:`PSNFunction`) is two more
matrix products.
The readable definitions are in :mod:`.reference`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

from ...surrogate import fused_derivative
from ..precision import compute_dtype
from ..surrogate_derivative import surrogate_derivative_
from .reference import psn_reference

Surrogate = Callable[[torch.Tensor], torch.Tensor]


class PSNFunction(torch.autograd.Function):
    """``(x [T, M], weight [T, T], bias [T, 1] or [], surrogate) -> surrogate(bias + weight @ x)``.

    Writes the spikes of a Heaviside surrogate (see
    :func:`~spikelayers_neuron.surrogate.fused_derivative`) straight into the output in one
    pass. Saves the charge ``h`` and, in the backward, turns a copy of it into
    ``dL/dh = surrogate'(h) * dL/ds`` in place, then ``dL/dx = weight^T dL/dh``,
    ``dL/dweight = dL/dh x^T`` and ``dL/dbias`` its sum: the same numbers as autograd
    through :func:`torch.addmm` and the surrogate, with fewer temporaries.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate
    ) -> torch.Tensor:
        """The spikes of the whole sequence (see the class)."""
        h = torch.addmm(bias, weight, x)
        ctx.surrogate = surrogate
        ctx.bias_shape = bias.shape
        ctx.save_for_backward(x, weight, h)
        if fused_derivative(surrogate) is not None:  # a Heaviside forward: one pass, no boolean temporary
            return torch.ge(h, 0.0, out=torch.empty_like(h))
        return surrogate(h)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_spike: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x, weight, h = ctx.saved_tensors
        grad_h = surrogate_derivative_(ctx.surrogate, h.clone()).mul_(grad_spike)
        needs = ctx.needs_input_grad
        grad_x = weight.t().mm(grad_h) if needs[0] else None
        grad_weight = grad_h.mm(x.t()) if needs[1] else None
        grad_bias = grad_h.sum(1, keepdim=True).sum_to_size(ctx.bias_shape) if needs[2] else None
        return grad_x, grad_weight, grad_bias, None


@reference_under_torch_func(psn_reference)
def psn_multi_step(x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """``surrogate(bias + weight @ x_seq)`` over time: ``x_seq`` ``[T, N, *]``, ``weight``
    ``[T, T]``, ``bias`` broadcastable to ``[T, 1]`` -> spikes ``[T, N, *]`` in ``x_seq``'s dtype."""
    dtype = compute_dtype(x_seq, weight, bias)
    x = x_seq.flatten(1).to(dtype)
    spikes = PSNFunction.apply(x, weight.to(dtype), bias.to(dtype), surrogate)
    return spikes.view(x_seq.shape).to(x_seq.dtype)


def band_mask(
    T: int, k: int, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    """``M_k`` ``[T, T]``: ``1`` where ``j <= i <= j + k - 1``, else ``0``."""
    ones = torch.ones(T, T, dtype=dtype, device=device)
    return torch.tril(ones) * torch.triu(ones, -(k - 1))


def masked_weight(
    weight: torch.Tensor, mask0: torch.Tensor, mask1: torch.Tensor, lambda_: torch.Tensor
) -> torch.Tensor:
    """``(lambda * mask0 + (1 - lambda) * mask1) * weight`` with ``lambda`` capped at 1.

    Capping replaces the reference's ``if lambda >= 1`` branch (``weight * mask0``) with
    the same numbers and no host synchronisation, so ``torch.compile`` sees one graph.
    """
    lam = lambda_.clamp(max=1.0)
    return (lam * mask0 + (1.0 - lam) * mask1) * weight


def sliding_weight_matrix(weight: torch.Tensor, T: int) -> torch.Tensor:
    """The banded ``[T, T]`` matrix of a sliding PSN with ``weight`` ``[k]``.

    Entry ``[i, j]`` is ``weight[k - 1 - (i - j)]`` where ``0 <= i - j < k``, else 0, so
    that row ``i`` holds ``weight[k - len:]`` in columns ``max(0, i + 1 - k) .. i``.
    Differentiable in ``weight`` (a gather).
    """
    k = weight.shape[0]
    steps = torch.arange(T, device=weight.device)
    lag = steps.view(-1, 1) - steps.view(1, -1)
    inside = (lag >= 0) & (lag < k)
    index = (k - 1 - lag).clamp(0, k - 1)
    return torch.where(inside, weight[index], weight.new_zeros(()))


def sliding_psn_gemm(
    x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate
) -> torch.Tensor:
    """The sliding PSN ``[T, N, *] -> [T, N, *]`` as one product with :func:`sliding_weight_matrix`."""
    return psn_multi_step(x_seq, sliding_weight_matrix(weight, x_seq.shape[0]), bias, surrogate)


def sliding_psn_conv(
    x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate
) -> torch.Tensor:
    """The sliding PSN ``[T, N, *] -> [T, N, *]`` as a ``conv1d`` of ``weight`` ``[k]`` along time.

    Every neuron's sequence is a row ``[1, T]`` padded with ``k - 1`` zeros on the left;
    cheaper than the ``[T, T]`` product when ``k`` is much smaller than ``T``.
    """
    dtype = compute_dtype(x_seq, weight, bias)
    k = weight.shape[0]
    rows = x_seq.flatten(1).to(dtype).t().unsqueeze(1)  # [N*..., 1, T]
    h = F.conv1d(F.pad(rows, (k - 1, 0)), weight.to(dtype).view(1, 1, k)).squeeze(1).t()
    return surrogate(h + bias.to(dtype)).reshape(x_seq.shape).to(x_seq.dtype)
