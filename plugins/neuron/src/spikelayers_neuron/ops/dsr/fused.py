"""The DSR neurons' autograd functions, fast path.

The forward recurrence has a threshold in it, so it loops over ``T``, but in place: one
potential buffer and the preallocated output, no autograd graph and nothing saved
but the input. The rate-based backward is a few vectorised reductions over time.
Readable definitions and the equations: :mod:`.reference`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from spikelayers.kernels import reference_under_torch_func

from ..blocks import column_blocks
from ..precision import compute_dtype
from .reference import DSRIFReference, DSRLIFReference


def _spiking_forward(x_seq: torch.Tensor, v_threshold: torch.Tensor, alpha: float, beta: float | None) -> torch.Tensor:
    """Spikes ``[T, N, *]`` (0 or ``v_threshold``) of the IF (``beta=None``) or LIF recurrence, in
    the compute dtype; run column block by column block (:func:`..blocks.column_blocks`)."""
    dtype = compute_dtype(x_seq, v_threshold)
    v_th = v_threshold.detach().to(dtype)
    limit = alpha * v_th
    T, neurons = x_seq.shape[0], math.prod(x_seq.shape[1:])
    x = x_seq.reshape(T, neurons)
    out = torch.empty((T, neurons), dtype=dtype, device=x_seq.device)
    potential = torch.zeros(neurons, dtype=dtype, device=x_seq.device)
    fired_all = torch.empty(neurons, dtype=torch.bool, device=x_seq.device)
    for block in column_blocks(neurons, out.element_size(), out.device):
        m, fired = potential[block], fired_all[block]
        for t in range(T):
            if beta is None:
                m.add_(x[t, block])
            else:
                m.mul_(beta).add_(x[t, block], alpha=1 - beta)
            torch.ge(m, limit, out=fired)
            spikes = torch.mul(fired, v_th, out=out[t, block])
            m.sub_(spikes)
    return out.view(x_seq.shape)


def weighted_rate(data: torch.Tensor, tau: float, delta_t: float) -> torch.Tensor:
    """``sum_t w_t data[t] / sum_t w_t`` (``w_t = exp(-(dt T - t dt) / tau)``, ``t = 1..T``) as one
    matrix-vector product: ``[T, N, *] -> [N, *]``."""
    T = data.shape[0]
    steps = torch.arange(1, T + 1, dtype=torch.float64)
    weights = torch.exp(-(delta_t * T - steps * delta_t) / tau)
    weights = (weights / weights.sum()).to(device=data.device, dtype=data.dtype)
    return (weights @ data.flatten(1)).view(data.shape[1:])


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
            kept = torch.where((rate >= 0) & (rate <= v_th), g / ctx.T, 0.0)
            grad_inp = kept.unsqueeze(0).expand(inp.shape).to(inp.dtype)
        grad_v_th = None
        if ctx.needs_input_grad[2]:
            grad_v_th = torch.where(rate > v_th, g, 0.0).sum() * ctx.scaling
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
        out = _spiking_forward(inp, v_th, alpha, math.exp(-delta_t / tau)).div_(delta_t)
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
            kept = torch.where((rate > 0) & (rate < top), g / (tau * T), 0.0)
            grad_inp = kept.unsqueeze(0).expand(inp.shape).to(inp.dtype)
        grad_v_th = None
        if ctx.needs_input_grad[2]:
            grad_v_th = torch.where(rate > top, g, 0.0).sum() * (delta_t * ctx.scaling)
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
