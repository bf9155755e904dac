"""The DSR neurons' autograd functions, fast path.

The forward recurrence has a threshold in it, so it loops over ``T``, but in place: one
potential buffer and the preallocated output, no autograd graph and nothing saved
but the input. The rate-based backward is a few vectorised reductions over time.
Readable definitions and the equations: :mod:`.reference`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from spikelayers.kernels import reference_under_torch_func

from ..blocks import block_rows, column_blocks
from ..precision import compute_dtype
from .reference import DSRIFReference, DSRLIFReference


def _spiking_forward(
    x_seq: torch.Tensor, v_threshold: torch.Tensor, alpha: float, beta: float | None, delta_t: float | None = None
) -> torch.Tensor:
    """Spikes ``[T, N, *]`` (0 or ``v_threshold``, divided by ``delta_t`` when given) of the IF
    (``beta=None``) or LIF recurrence, in the compute dtype; run column block by column
    block (:func:`..blocks.column_blocks`), each block's spikes scaled once at its end."""
    dtype = compute_dtype(x_seq, v_threshold)
    v_th = v_threshold.detach().to(dtype)
    limit, minus_v_th = alpha * v_th, -v_th
    T, neurons = x_seq.shape[0], math.prod(x_seq.shape[1:])
    x = x_seq.reshape(T, neurons)
    out = torch.empty((T, neurons), dtype=dtype, device=x_seq.device)
    potential = torch.zeros(neurons, dtype=dtype, device=x_seq.device)
    for block in column_blocks(neurons, out.element_size(), out.device):
        m = potential[block]
        for x_t, out_t in zip(block_rows(x, block), block_rows(out, block)):
            if beta is None:
                m.add_(x_t)
            else:
                m.mul_(beta).add_(x_t, alpha=1 - beta)
            fired = torch.ge(m, limit, out=out_t)  # 0 or 1 until the block ends
            m.addcmul_(fired, minus_v_th)
        spikes = out[:, block].mul_(v_th)
        if delta_t is not None:
            spikes.div_(delta_t)
    return out.view(x_seq.shape)


def weighted_rate(data: torch.Tensor, tau: float, delta_t: float) -> torch.Tensor:
    """``sum_t w_t data[t] / sum_t w_t`` (``w_t = exp(-(dt T - t dt) / tau)``, ``t = 1..T``) as one
    matrix-vector product: ``[T, N, *] -> [N, *]``."""
    T = data.shape[0]
    steps = torch.arange(1, T + 1, dtype=torch.float64)
    weights = torch.exp(-(delta_t * T - steps * delta_t) / tau)
    weights = (weights / weights.sum()).to(device=data.device, dtype=data.dtype)
    return (weights @ data.flatten(1)).view(data.shape[1:])


def _inside(
    rate: torch.Tensor,
    low: float,
    high: torch.Tensor,
    above: Callable[..., torch.Tensor],
    below: Callable[..., torch.Tensor],
) -> torch.Tensor:
    """``1.0`` where ``above(rate, low)`` and ``below(rate, high)``, else ``0.0`` (``rate``'s shape
    and dtype). Comparisons written straight into floating-point tensors take one fast
    pass each, where boolean masks and ``torch.where`` take several times longer on CPU."""
    inside = above(rate, low, out=torch.empty_like(rate))
    return inside.mul_(below(rate, high, out=torch.empty_like(rate)))


def _masked_sum(g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``sum(g * mask)`` over every element, a 0-dim tensor."""
    return torch.dot(g.reshape(-1), mask.reshape(-1))


class DSRIFFunction(torch.autograd.Function):
    """``apply(inp [T, N, *], T, v_threshold, alpha, v_threshold_grad_scaling) -> spikes [T, N, *]``.

    Spikes are 0 or ``v_threshold``; the backward differentiates the mean rate (see
    :mod:`.reference`). ``v_threshold`` is a 0-dim tensor or a float (no gradient then).
    """

    @staticmethod
    def forward(
        ctx: Any,
        inp: torch.Tensor,
        T: int = 10,
        v_threshold: torch.Tensor | float = 1.0,
        alpha: float = 0.5,
        v_threshold_grad_scaling: float = 1.0,
    ) -> torch.Tensor:
        """The spikes of the whole sequence (see the class)."""
        v_th = torch.as_tensor(v_threshold, device=inp.device)
        out = _spiking_forward(inp, v_th, alpha, None)
        ctx.save_for_backward(inp, v_th)
        ctx.T, ctx.scaling = T, v_threshold_grad_scaling
        return out.to(inp.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        inp, v_th = ctx.saved_tensors
        dtype = compute_dtype(inp, v_th)
        v_th = v_th.to(dtype)
        rate = inp.to(dtype).mean(0)
        g = grad_out.to(dtype).sum(0) * (ctx.T / grad_out.shape[0])
        grad_inp = None
        if ctx.needs_input_grad[0]:
            kept = _inside(rate, 0.0, v_th, torch.ge, torch.le).mul_(g).div_(ctx.T)
            grad_inp = kept.unsqueeze(0).expand(inp.shape).to(inp.dtype)
        grad_v_th = None
        if ctx.needs_input_grad[2]:
            grad_v_th = _masked_sum(g, torch.gt(rate, v_th, out=torch.empty_like(rate))) * ctx.scaling
        return grad_inp, None, grad_v_th, None, None


class DSRLIFFunction(torch.autograd.Function):
    """``apply(inp [T, N, *], T, v_threshold, tau, delta_t, alpha, v_threshold_grad_scaling)``
    -> ``spikes / delta_t`` ``[T, N, *]``; the backward differentiates the weighted rate."""

    @staticmethod
    def forward(
        ctx: Any,
        inp: torch.Tensor,
        T: int,
        v_threshold: torch.Tensor | float,
        tau: float,
        delta_t: float = 0.05,
        alpha: float = 0.3,
        v_threshold_grad_scaling: float = 1.0,
    ) -> torch.Tensor:
        """The spikes of the whole sequence (see the class)."""
        v_th = torch.as_tensor(v_threshold, device=inp.device)
        out = _spiking_forward(inp, v_th, alpha, math.exp(-delta_t / tau), delta_t)
        ctx.save_for_backward(inp, v_th)
        ctx.T, ctx.tau, ctx.delta_t, ctx.scaling = T, tau, delta_t, v_threshold_grad_scaling
        return out.to(inp.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        inp, v_th = ctx.saved_tensors
        T, tau, delta_t = ctx.T, ctx.tau, ctx.delta_t
        dtype = compute_dtype(inp, v_th)
        top = v_th.to(dtype) / delta_t * tau
        rate = weighted_rate(inp.to(dtype), tau, delta_t)
        g = weighted_rate(grad_out.to(dtype), tau, delta_t) * T
        grad_inp = None
        if ctx.needs_input_grad[0]:
            kept = _inside(rate, 0.0, top, torch.gt, torch.lt).mul_(g).div_(tau * T)
            grad_inp = kept.unsqueeze(0).expand(inp.shape).to(inp.dtype)
        grad_v_th = None
        if ctx.needs_input_grad[2]:
            grad_v_th = _masked_sum(g, torch.gt(rate, top, out=torch.empty_like(rate))) * (delta_t * ctx.scaling)
        return grad_inp, None, grad_v_th, None, None, None, None


@reference_under_torch_func(DSRIFReference.apply)
def dsr_if(x_seq: torch.Tensor, T: int, v_threshold: torch.Tensor, alpha: float, scaling: float) -> torch.Tensor:
    """:class:`DSRIFFunction` over ``x_seq`` ``[T, N, *]`` (its reference under a :mod:`torch.func` transform)."""
    return DSRIFFunction.apply(x_seq, T, v_threshold, alpha, scaling)


@reference_under_torch_func(DSRLIFReference.apply)
def dsr_lif(
    x_seq: torch.Tensor,
    T: int,
    v_threshold: torch.Tensor,
    tau: float,
    delta_t: float,
    alpha: float,
    scaling: float,
) -> torch.Tensor:
    """:class:`DSRLIFFunction` over ``x_seq`` ``[T, N, *]`` (its reference under a :mod:`torch.func` transform)."""
    return DSRLIFFunction.apply(x_seq, T, v_threshold, tau, delta_t, alpha, scaling)
