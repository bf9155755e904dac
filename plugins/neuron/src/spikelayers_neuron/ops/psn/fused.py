"""The parallel spiking neurons as one matrix product over time, computed in column blocks.

The charge of every step is a linear function of the whole input sequence, so the
``T`` charges are the product ``[T, T] @ [T, N*...]``: no loop over ``T``, and the
backward (:class:`PSNFunction`) is two more matrix products. With ``T`` as the inner
dimension the product is bound by memory traffic, so both passes walk the columns in
blocks that stay in cache (:func:`~spikelayers_neuron.ops.blocks.column_blocks`).
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
from ..blocks import column_blocks
from ..precision import compute_dtype
from ..surrogate_derivative import surrogate_derivative_
from .reference import psn_reference

Surrogate = Callable[[torch.Tensor], torch.Tensor]


class PSNFunction(torch.autograd.Function):
    """``(x [T, M], weight [T, T], bias [T, 1] or [], surrogate) -> surrogate(bias + weight @ x)``.

    Both passes walk ``x`` in column blocks ``[T, a:b]``. The forward computes a block's
    charge into one reused scratch buffer and writes its spikes into the output (for a
    Heaviside surrogate, see :func:`~spikelayers_neuron.surrogate.fused_derivative`, as
    the one comparison ``weight @ x >= -bias``); it saves ``x`` rather than ``h``. The
    backward recomputes each block's ``h`` in the scratch buffer, turns it into
    ``dL/dh = surrogate'(h) * dL/ds`` in place, writes ``dL/dx = weight^T dL/dh`` into its
    columns of the input gradient and accumulates ``dL/dweight += dL/dh x^T`` and
    ``dL/dbias``. So the only ``[T, M]`` tensors that touch memory are ``x``, the spikes
    and the two gradients: the numbers of autograd through :func:`torch.addmm` and the
    surrogate (up to rounding), with far less traffic.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate
    ) -> torch.Tensor:
        """The spikes of the whole sequence (see the class)."""
        spikes = x.new_empty(x.shape)
        threshold = -bias if fused_derivative(surrogate) is not None else None
        blocks = column_blocks(x.shape[1], x.element_size(), x.device)
        scratch = _Scratch(x, blocks)
        for columns in blocks:
            if threshold is not None:  # Heaviside: weight @ x >= -bias, one pass, no boolean temporary
                torch.ge(scratch.product(weight, x[:, columns]), threshold, out=spikes[:, columns])
            else:
                spikes[:, columns] = surrogate(scratch.charge(weight, x[:, columns], bias))
        ctx.surrogate = surrogate
        ctx.bias_shape = bias.shape
        ctx.save_for_backward(x, weight, bias)
        return spikes

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_spike: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x, weight, bias = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        T, M = x.shape
        grad_x = x.new_empty(T, M) if needs_x else None
        grad_weight = weight.new_zeros(T, T) if needs_weight else None
        grad_bias = x.new_zeros(T, 1) if needs_bias else None
        weight_t = weight.t()
        blocks = column_blocks(M, x.element_size(), x.device)
        scratch = _Scratch(x, blocks)
        for columns in blocks:
            x_block = x[:, columns]
            grad_h = surrogate_derivative_(ctx.surrogate, scratch.charge(weight, x_block, bias))
            grad_h.mul_(grad_spike[:, columns])
            if grad_x is not None:
                torch.mm(weight_t, grad_h, out=grad_x[:, columns])
            if grad_weight is not None:
                grad_weight.addmm_(grad_h, x_block.t())
            if grad_bias is not None:
                grad_bias.add_(grad_h.sum(1, keepdim=True))
        if grad_bias is not None:
            grad_bias = grad_bias.sum_to_size(ctx.bias_shape)
        return grad_x, grad_weight, grad_bias, None


class _Scratch:
    """One reused, contiguous ``[T, width]`` buffer for the charge of a column block of ``x`` ``[T, M]``."""

    def __init__(self, x: torch.Tensor, blocks: list[slice]) -> None:
        self.rows = x.shape[0]
        self.flat = x.new_empty(self.rows * (blocks[0].stop - blocks[0].start))

    def charge(self, weight: torch.Tensor, x_block: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``bias + weight @ x_block`` ``[T, width]``, written into the buffer."""
        return torch.addmm(bias, weight, x_block, out=self._view(x_block.shape[1]))

    def product(self, weight: torch.Tensor, x_block: torch.Tensor) -> torch.Tensor:
        """``weight @ x_block`` ``[T, width]``, written into the buffer."""
        return torch.mm(weight, x_block, out=self._view(x_block.shape[1]))

    def _view(self, width: int) -> torch.Tensor:
        return self.flat[: self.rows * width].view(self.rows, width)


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
    """The sliding PSN ``[T, N, *] -> [T, N, *]`` as a convolution of ``weight`` ``[k]`` along time.

    ``h[t] = sum_i weight[i] x[t - k + 1 + i]`` (zero before the first step): ``k``
    multiply-adds of shifted views of the sequence ``[T, M]`` padded with ``k - 1`` zero
    steps in front, each element-wise across neurons: its cost grows with ``k``, that of
    the ``[T, T]`` product with ``T``.
    """
    dtype = compute_dtype(x_seq, weight, bias)
    T, k = x_seq.shape[0], weight.shape[0]
    padded = F.pad(x_seq.flatten(1).to(dtype), (0, 0, k - 1, 0))  # [T + k - 1, M]
    w = weight.to(dtype)
    h = torch.addcmul(bias.to(dtype), padded[k - 1 :], w[k - 1])
    for i in range(k - 1):
        h = torch.addcmul(h, padded[i : i + T], w[i])
    return surrogate(h).reshape(x_seq.shape).to(x_seq.dtype)
