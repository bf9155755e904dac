"""The fused multi-step paths of the QIF, EIF, KLIF and Izhikevich neurons (PyTorch backend).

One :class:`torch.autograd.Function` per call runs the whole sequence without a
per-step graph: the forward keeps only the charged potentials ``h_t``; the backward
rebuilds each ``v_{t-1}`` from ``h_{t-1}`` and chains the partial derivatives of
:mod:`spikelayers_neuron.cells` over ``T`` in reverse::

    dL/dh_t     = sg_t * dL/ds_t + dv_t/dh_t * dL/dv_t
    dL/dv_{t-1} = dh_t/dv_{t-1} * dL/dh_t,       dL/dx_t = dh_t/dx_t * dL/dh_t

Half-precision inputs are computed in float32 and rounded once on output. ``sg_t`` is
the surrogate derivative at ``h_t - v_threshold`` and ``dv_t/dh_t`` the
reset's (``1 - s_t + (v_reset - h_t) sg_t`` hard, ``1 - v_threshold sg_t`` soft; the
``sg_t`` terms vanish with ``detach_reset``). Readable definition:
:mod:`spikelayers_neuron.reference`; a surrogate without a derivative runs that loop.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .cells import CellConfig, IzhikevichConfig, cell_charge, cell_partials, izhikevich_charge
from .reference import reference_cell_multi_step, reference_izhikevich_multi_step
from .surrogate import apply_derivative_, fused_derivative


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the kernels compute in: float32 for half-precision inputs, else the input's."""
    return torch.promote_types(x.dtype, torch.float32)


def _reset(h: torch.Tensor, spike: torch.Tensor, v_threshold: float, v_reset: float | None) -> torch.Tensor:
    """The forward value of the reset (no gradient bookkeeping)."""
    if v_reset is None:
        return h - v_threshold * spike
    return h - h * spike + v_reset * spike


def _reset_slope(h: torch.Tensor, spike: torch.Tensor, sg: torch.Tensor, config: Any) -> torch.Tensor:
    """``dv/dh`` of the reset, the spike's own dependence on ``h`` included (``sg``)."""
    if config.v_reset is None:
        return torch.ones_like(h) if config.detach_reset else 1.0 - config.v_threshold * sg
    slope = 1.0 - spike
    return slope if config.detach_reset else slope + (config.v_reset - h) * sg


class FusedCellFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k, config) -> (spike_seq, v_seq [T, N, *] or v_T [N, *])``."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = compute_dtype(x_seq)
        k_value = None if k is None else k.detach().to(dtype)
        spikes = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq) if config.store_v_seq else None
        h_steps: list[torch.Tensor] = []
        v = v0.to(dtype)
        for t in range(x_seq.shape[0]):
            h = cell_charge(x_seq[t].to(dtype), v, k_value, config)
            spike = (h >= config.v_threshold).to(dtype)
            spikes[t] = spike
            v = _reset(h, spike, config.v_threshold, config.v_reset)
            if v_seq is not None:
                v_seq[t] = v
            h_steps.append(h)
        ctx.config, ctx.k_value, ctx.h_steps = config, k_value, h_steps
        ctx.dtypes = (x_seq.dtype, v0.dtype, None if k is None else k.dtype)
        ctx.save_for_backward(v0)
        if v_seq is not None:
            return spikes, v_seq
        return spikes, v.to(v0.dtype) if h_steps else v0.clone()

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        config: CellConfig = ctx.config
        (v0,) = ctx.saved_tensors
        x_dtype, v_dtype, k_dtype = ctx.dtypes
        h_steps: list[torch.Tensor] = ctx.h_steps
        k = ctx.k_value
        T = len(h_steps)
        v0 = v0.to(h_steps[0].dtype) if T else v0
        grad_x = torch.empty((T, *v0.shape), dtype=x_dtype, device=v0.device)
        grad_k = torch.zeros((), dtype=torch.float64, device=v0.device) if k is not None else None
        gv = torch.zeros_like(v0)
        if grad_v is not None and not config.store_v_seq:
            gv = gv + grad_v.to(gv.dtype)
        for t in range(T - 1, -1, -1):
            h = h_steps[t]
            if grad_v is not None and config.store_v_seq:
                gv = gv + grad_v[t].to(gv.dtype)
            spike = (h >= config.v_threshold).to(h.dtype)
            sg = apply_derivative_(config.surrogate, h - config.v_threshold)
            gh = _reset_slope(h, spike, sg, config) * gv
            if grad_spike is not None:
                gh = gh + sg * grad_spike[t].to(sg.dtype)
            if t > 0:
                prev = h_steps[t - 1]
                v_prev = _reset(prev, (prev >= config.v_threshold).to(prev.dtype), config.v_threshold, config.v_reset)
            else:
                v_prev = v0
            dh_dx, dh_dv, dh_dk = cell_partials(v_prev, h, k, config)
            grad_x[t] = gh * dh_dx
            if grad_k is not None and dh_dk is not None:
                grad_k += (gh * dh_dk).sum(dtype=torch.float64)
            gv = gh * dh_dv
        grad_k_out = grad_k.to(k_dtype) if grad_k is not None and ctx.needs_input_grad[2] else None
        return grad_x, gv.to(v_dtype) if ctx.needs_input_grad[1] else None, grad_k_out, None


def cell_multi_step(
    x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``T`` cell steps (the ``'torch'`` kernel of op ``"neuron.cell_multi_step"``).

    Args:
        x_seq: input ``[T, N, *]``.
        v0: membrane potential before the first step ``[N, *]``.
        k: KLIF's learnable scale (a 0-dim tensor), ``None`` for QIF and EIF.
        config: the cell's constants.

    Returns:
        ``(spike_seq [T, N, *], v)``; ``v`` is ``v_seq [T, N, *]`` when
        ``config.store_v_seq``, else the last potential ``[N, *]``.
    """
    if fused_derivative(config.surrogate) is None:
        spikes, v_seq = reference_cell_multi_step(x_seq, v0, k, config)
        if config.store_v_seq:
            return spikes, v_seq
        return spikes, v_seq[-1] if x_seq.shape[0] else v0
    return FusedCellFunction.apply(x_seq, v0, k, config)


class FusedIzhikevichFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0, w0 [N, *], config) -> (spike_seq, v_seq or v_T, w_T)``.

    Per step (reverse), with ``gv, gw`` the gradients of the potential and adaptation
    current after the step: the spike's total gradient is ``dL/ds + gv dv/ds + gw b``;
    ``dL/dH = sg * that + gv dv/dH + gw a / tau_w``; then ``dL/dw_{t-1} = gw (1 - 1/tau_w)
    - dL/dH / tau`` and ``dL/dv_{t-1} = dL/dH (1 + a0 (2 v_{t-1} - v_rest - v_c) / tau)``.
    """

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dtype = compute_dtype(x_seq)
        spikes = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq) if config.store_v_seq else None
        h_steps: list[torch.Tensor] = []
        v, w = v0.to(dtype), w0.to(dtype)
        for t in range(x_seq.shape[0]):
            h = izhikevich_charge(x_seq[t].to(dtype), v, w, config)
            w = w + (config.a * (h - config.v_rest) - w) / config.tau_w
            spike = (h >= config.v_threshold).to(dtype)
            spikes[t] = spike
            v = _reset(h, spike, config.v_threshold, config.v_reset)
            w = w + config.b * spike
            if v_seq is not None:
                v_seq[t] = v
            h_steps.append(h)
        ctx.config, ctx.h_steps = config, h_steps
        ctx.dtypes = (x_seq.dtype, v0.dtype, w0.dtype)
        ctx.save_for_backward(v0)
        v_out = v_seq if v_seq is not None else (v.to(v0.dtype) if h_steps else v0.clone())
        return spikes, v_out, w.to(w0.dtype) if h_steps else w0.clone()

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None, grad_w: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        c: IzhikevichConfig = ctx.config
        (v0,) = ctx.saved_tensors
        x_dtype, v_dtype, w_dtype = ctx.dtypes
        h_steps: list[torch.Tensor] = ctx.h_steps
        T = len(h_steps)
        v0 = v0.to(h_steps[0].dtype) if T else v0
        grad_x = torch.empty((T, *v0.shape), dtype=x_dtype, device=v0.device)
        gv = torch.zeros_like(v0)
        if grad_v is not None and not c.store_v_seq:
            gv = gv + grad_v.to(gv.dtype)
        gw = torch.zeros_like(v0) if grad_w is None else grad_w.to(v0.dtype)
        for t in range(T - 1, -1, -1):
            h = h_steps[t]
            if grad_v is not None and c.store_v_seq:
                gv = gv + grad_v[t].to(gv.dtype)
            spike = (h >= c.v_threshold).to(h.dtype)
            sg = apply_derivative_(c.surrogate, h - c.v_threshold)
            if c.v_reset is None:
                dv_dh = torch.ones_like(h)
                dv_ds = 0.0 if c.detach_reset else -c.v_threshold
            else:
                dv_dh = 1.0 - spike
                dv_ds = c.v_reset if c.detach_reset else c.v_reset - h
            grad_s = gv * dv_ds + gw * c.b
            if grad_spike is not None:
                grad_s = grad_s + grad_spike[t].to(gv.dtype)
            gh = sg * grad_s + gv * dv_dh + gw * (c.a / c.tau_w)
            if t > 0:
                prev = h_steps[t - 1]
                v_prev = _reset(prev, (prev >= c.v_threshold).to(prev.dtype), c.v_threshold, c.v_reset)
            else:
                v_prev = v0
            grad_x[t] = gh / c.tau
            gw = gw * (1.0 - 1.0 / c.tau_w) - gh / c.tau
            gv = gh * (1.0 + c.a0 * (2.0 * v_prev - c.v_rest - c.v_c) / c.tau)
        return grad_x, gv.to(v_dtype), gw.to(w_dtype), None


def izhikevich_multi_step(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``T`` Izhikevich steps (the ``'torch'`` kernel of op ``"neuron.izhikevich_multi_step"``).

    Returns:
        ``(spike_seq [T, N, *], v, w_T [N, *])``; ``v`` is ``v_seq [T, N, *]`` when
        ``config.store_v_seq``, else the last potential ``[N, *]``.
    """
    if fused_derivative(config.surrogate) is None:
        spikes, v_seq, w = reference_izhikevich_multi_step(x_seq, v0, w0, config)
        if config.store_v_seq:
            return spikes, v_seq, w
        return spikes, v_seq[-1] if x_seq.shape[0] else v0, w
    return FusedIzhikevichFunction.apply(x_seq, v0, w0, config)
