"""The DSR neurons' ``'inductor'`` kernels: the forward recurrence compiled for the CPU.

The forward's ``T`` steps are element-wise across neurons, so TorchInductor fuses them
into one vectorised loop that reads the input once and writes the spikes once
(:func:`dsr_forward`); the rate-based backward is already a few reductions over time
and stays that of :mod:`.fused`. Inputs on other devices, an empty sequence or batch, a
single neuron, and a call inside an enclosing ``torch.compile`` run :mod:`.fused`.
Readable definitions: :mod:`.reference`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..compiled import run_compiled, takes_compiled
from ..precision import compute_dtype
from .fused import DSRIFFunction, DSRLIFFunction, dsr_if, dsr_lif


def dsr_forward(
    x_seq: torch.Tensor, v_threshold: torch.Tensor, alpha: float, beta: float | None, delta_t: float | None
) -> torch.Tensor:
    """Spikes ``[T, M]`` in ``x_seq``'s dtype of the IF (``beta=None``) or LIF recurrence over
    ``x_seq`` ``[T, M]`` from ``m = 0``, computed in ``v_threshold``'s dtype: ``m = m + x``
    (IF) or ``beta m + (1 - beta) x`` (LIF); ``s = v_th (m >= alpha v_th)``; ``m = m - s``;
    each spike divided by ``delta_t`` when given."""
    m = torch.zeros_like(x_seq[0], dtype=v_threshold.dtype)
    limit = alpha * v_threshold
    spikes = []
    for x in x_seq.unbind(0):
        x = x.to(v_threshold.dtype)
        m = m + x if beta is None else m * beta + x * (1 - beta)
        spike = (m >= limit).to(m.dtype) * v_threshold
        m = m - spike
        spikes.append(spike if delta_t is None else spike / delta_t)
    return torch.stack(spikes).to(x_seq.dtype)


def _compiled_spikes(
    ctx: Any,
    inp: torch.Tensor,
    v_threshold: torch.Tensor | float,
    alpha: float,
    beta: float | None,
    delta_t: float | None,
) -> torch.Tensor:
    v_th = torch.as_tensor(v_threshold, device=inp.device)
    dtype = compute_dtype(inp, v_th)
    T = inp.shape[0]
    spikes = run_compiled(dsr_forward, inp.detach().reshape(T, -1), v_th.detach().to(dtype), alpha, beta, delta_t)
    ctx.save_for_backward(inp, v_th)
    return spikes.view(inp.shape)


class InductorDSRIFFunction(DSRIFFunction):
    """:class:`~.fused.DSRIFFunction` with the forward of :func:`dsr_forward`, compiled."""

    @staticmethod
    def forward(
        ctx: Any,
        inp: torch.Tensor,
        T: int = 10,
        v_threshold: torch.Tensor | float = 1.0,
        alpha: float = 0.5,
        v_threshold_grad_scaling: float = 1.0,
    ) -> torch.Tensor:
        """The spikes of the whole sequence (see :class:`~.fused.DSRIFFunction`)."""
        spikes = _compiled_spikes(ctx, inp, v_threshold, alpha, None, None)
        ctx.T, ctx.scaling = T, v_threshold_grad_scaling
        return spikes


class InductorDSRLIFFunction(DSRLIFFunction):
    """:class:`~.fused.DSRLIFFunction` with the forward of :func:`dsr_forward`, compiled."""

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
        """The spikes of the whole sequence (see :class:`~.fused.DSRLIFFunction`)."""
        spikes = _compiled_spikes(ctx, inp, v_threshold, alpha, math.exp(-delta_t / tau), delta_t)
        ctx.T, ctx.tau, ctx.delta_t, ctx.scaling = T, tau, delta_t, v_threshold_grad_scaling
        return spikes


def dsr_if_inductor(
    x_seq: torch.Tensor, T: int, v_threshold: torch.Tensor, alpha: float, scaling: float
) -> torch.Tensor:
    """The ``'inductor'`` kernel of ``"neuron.dsr_if"``; same contract as :func:`~.fused.dsr_if`."""
    if not takes_compiled(x_seq):
        return dsr_if(x_seq, T, v_threshold, alpha, scaling)
    return InductorDSRIFFunction.apply(x_seq, T, v_threshold, alpha, scaling)


def dsr_lif_inductor(
    x_seq: torch.Tensor,
    T: int,
    v_threshold: torch.Tensor,
    tau: float,
    delta_t: float,
    alpha: float,
    scaling: float,
) -> torch.Tensor:
    """The ``'inductor'`` kernel of ``"neuron.dsr_lif"``; same contract as :func:`~.fused.dsr_lif`."""
    if not takes_compiled(x_seq):
        return dsr_lif(x_seq, T, v_threshold, tau, delta_t, alpha, scaling)
    return InductorDSRLIFFunction.apply(x_seq, T, v_threshold, tau, delta_t, alpha, scaling)
