"""The DSR neurons written step by step from their equations.

Differentiation on spike representation: the forward pass is an integrate-and-fire
(or leaky) neuron with a subtractive reset whose spikes carry the threshold's value;
the backward pass ignores the spike train and differentiates the neuron's firing
*rate* as a clipped function of the input's (weighted) mean over time.

IF (``m`` starts at 0)::

    m = m + x[t];  s[t] = v_th * (m >= alpha * v_th);  m = m - s[t]
    backward: r = mean_t x;  g = sum_t grad_out
              grad_x[t] = g / T where 0 <= r <= v_th, else 0
              grad_v_th = scaling * sum(g where r > v_th)

LIF (``beta = exp(-dt / tau)``; the output is ``s / dt``)::

    m = beta * m + (1 - beta) * x[t];  s = v_th * (m >= alpha * v_th);  m = m - s
    backward: with the weighted mean  r = sum_t w_t x[t] / sum_t w_t,
              w_t = exp(-(dt T - t dt) / tau) for t = 1..T, and g = T * weighted mean of grad_out:
              grad_x[t] = g / tau / T where 0 < r < v_th tau / dt, else 0
              grad_v_th = dt * scaling * sum(g where r > v_th tau / dt)

Inputs ``[T, N, *]``; the spikes come back in the input's dtype, computed in float32
or wider. The fast paths are in :mod:`.fused`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..precision import compute_dtype


def rate_weights(T: int, tau: float, delta_t: float) -> list[float]:
    """The weights ``w_t = exp(-(dt T - t dt) / tau)``, ``t = 1..T``, of the LIF rate."""
    return [math.exp(-(delta_t * T - t * delta_t) / tau) for t in range(1, T + 1)]


def weighted_rate_reference(data: torch.Tensor, tau: float, delta_t: float) -> torch.Tensor:
    """``sum_t w_t data[t] / sum_t w_t`` of ``data`` ``[T, N, *]`` -> ``[N, *]``."""
    weights = rate_weights(data.shape[0], tau, delta_t)
    total = torch.zeros_like(data[0])
    for t, w in enumerate(weights):
        total = total + w * data[t]
    return total / sum(weights)


def _computed(x_seq: torch.Tensor, v_threshold: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x_seq`` and ``v_threshold`` in the dtype the spikes are computed in."""
    dtype = compute_dtype(x_seq, v_threshold)
    return x_seq.to(dtype), v_threshold.to(dtype)


class DSRIFReference(torch.autograd.Function):
    """``(x_seq [T, N, *], T, v_threshold, alpha, scaling) -> spikes [T, N, *]`` (0 or ``v_threshold``).

    Plain torch ops in both directions, so :mod:`torch.func` transforms it (vmap batches
    the forward and the backward as they are).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x_seq: torch.Tensor, T: int, v_threshold: torch.Tensor, alpha: float, scaling: float) -> torch.Tensor:
        """The spikes of the whole sequence (see the class)."""
        dtype = compute_dtype(x_seq, v_threshold)
        x, v_th = x_seq.to(dtype), v_threshold.to(dtype)
        m = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            m = m + x[t]
            spike = v_th * (m >= alpha * v_th).to(dtype)
            m = m - spike
            spikes.append(spike)
        return torch.stack(spikes).to(x_seq.dtype)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        """Keep the input and the threshold, and the constants of the backward."""
        x_seq, T, v_threshold, _, scaling = inputs
        ctx.save_for_backward(x_seq, v_threshold)
        ctx.T, ctx.scaling = T, scaling

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x, v_th = _computed(*ctx.saved_tensors)
        T = ctx.T
        rate = x.mean(0)
        g = grad_out.to(x.dtype).mean(0) * T
        inside = (rate >= 0) & (rate <= v_th)
        grad_x = torch.where(inside, g, torch.zeros_like(g)) / T
        grad_x = torch.stack([grad_x] * x.shape[0])
        grad_v_th = torch.where(rate > v_th, g, torch.zeros_like(g)).sum() * ctx.scaling
        return grad_x.to(grad_out.dtype), None, grad_v_th, None, None


class DSRLIFReference(torch.autograd.Function):
    """``(x_seq, T, v_threshold, tau, delta_t, alpha, scaling) -> spikes / delta_t`` ``[T, N, *]``.

    Plain torch ops in both directions, so :mod:`torch.func` transforms it.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(
        x_seq: torch.Tensor,
        T: int,
        v_threshold: torch.Tensor,
        tau: float,
        delta_t: float,
        alpha: float,
        scaling: float,
    ) -> torch.Tensor:
        """The spikes of the whole sequence (see the class)."""
        dtype = compute_dtype(x_seq, v_threshold)
        x, v_th = x_seq.to(dtype), v_threshold.to(dtype)
        beta = math.exp(-delta_t / tau)
        m = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            m = beta * m + (1 - beta) * x[t]
            spike = v_th * (m >= alpha * v_th).to(dtype)
            m = m - spike
            spikes.append(spike / delta_t)
        return torch.stack(spikes).to(x_seq.dtype)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        """Keep the input and the threshold, and the constants of the backward."""
        x_seq, T, v_threshold, tau, delta_t, _, scaling = inputs
        ctx.save_for_backward(x_seq, v_threshold)
        ctx.T, ctx.tau, ctx.delta_t, ctx.scaling = T, tau, delta_t, scaling

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x, v_th = _computed(*ctx.saved_tensors)
        T, tau, delta_t = ctx.T, ctx.tau, ctx.delta_t
        rate = weighted_rate_reference(x, tau, delta_t)
        g = weighted_rate_reference(grad_out.to(x.dtype), tau, delta_t) * T
        top = v_th / delta_t * tau
        inside = (rate > 0) & (rate < top)
        grad_x = torch.where(inside, g / tau, torch.zeros_like(g)) / T
        grad_x = torch.stack([grad_x] * x.shape[0])
        grad_v_th = torch.where(rate > top, g, torch.zeros_like(g)).sum() * delta_t * ctx.scaling
        return grad_x.to(grad_out.dtype), None, grad_v_th, None, None, None, None
