"""Triton kernels of the QIF, EIF, KLIF and Izhikevich neurons' multi-step paths (forward and backward).

Each program owns a block of neurons and loops over ``T`` (forward) and back (backward),
in float32 whatever the storage dtype; the recurrence is that of
:mod:`spikelayers_neuron.fused_cells` and the readable definitions are
:func:`~spikelayers_neuron.reference.reference_cell_multi_step` and
:func:`~spikelayers_neuron.reference.reference_izhikevich_multi_step`. Surrogates
without a Triton derivative run the PyTorch kernel. This module imports triton; the
kernel registry loads it only when the ``'triton'`` backend is asked for.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

from .cells import CellConfig, IzhikevichConfig
from .fused_cells import cell_multi_step, izhikevich_multi_step
from .triton_kernel import (
    BLOCK,
    SURROGATE_IDS,
    _fire_and_store,
    _initial_grad_v,
    _reset,
    _reset_slope,
    _surrogate_derivative,
)

CELL_IDS = {"qif": 0, "eif": 1, "klif": 2}


@triton.jit
def _charge(x, v, p0, p1, p2, p3, CELL: tl.constexpr):
    """QIF (p = tau, v_c, a0, v_rest), EIF (p = tau, delta_T, theta_rh, v_rest) or KLIF
    (p = tau, decay_input, v_rest, k)."""
    if CELL == 0:
        h = v + (x + p2 * (v - p3) * (v - p1)) / p0
    elif CELL == 1:
        h = v + (x + p3 - v + p1 * tl.exp((v - p2) / p1)) / p0
    else:
        leaky = tl.where(p1 != 0.0, v + (x - (v - p2)) / p0, v - (v - p2) / p0 + x)
        h = tl.maximum(p3 * leaky, 0.0)
    return h


@triton.jit
def _charge_slope(v, p0, p1, p2, p3, CELL: tl.constexpr):
    """``dh/dv`` at the potential ``v`` before the charge."""
    if CELL == 0:  # noqa: SIM108 (a constexpr branch)
        slope = 1.0 + p2 * (2.0 * v - p3 - p1) / p0
    else:
        slope = 1.0 + (tl.exp((v - p2) / p1) - 1.0) / p0
    return slope


@triton.jit
def _cell_forward_kernel(
    x_ptr, v0_ptr, s_ptr, h_ptr, v_ptr, p0, p1, p2, p3, v_th, v_reset, T, M,
    CELL: tl.constexpr, HARD: tl.constexpr, STORE_V: tl.constexpr, BLOCK_SIZE: tl.constexpr,
):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < M
    v = tl.load(v0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        x = tl.load(x_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        h = _charge(x, v, p0, p1, p2, p3, CELL)
        v = _fire_and_store(h, v_th, v_reset, s_ptr, h_ptr, v_ptr, t * M + offsets, mask, HARD, STORE_V)
    if not STORE_V:
        tl.store(v_ptr + offsets, v.to(v_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _cell_backward_kernel(
    h_ptr, gs_ptr, gv_ptr, v0_ptr, gx_ptr, gv0_ptr, gk_ptr, p0, p1, p2, p3, alpha, v_th, v_reset, T, M,
    CELL: tl.constexpr, HARD: tl.constexpr, DETACH: tl.constexpr, STORE_V: tl.constexpr,
    HAS_GV: tl.constexpr, HAS_GS: tl.constexpr, SURROGATE: tl.constexpr, BLOCK_SIZE: tl.constexpr,
):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < M
    grad_v = _initial_grad_v(gv_ptr, offsets, mask, HAS_GV, STORE_V, BLOCK_SIZE)
    v0 = tl.load(v0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    grad_k = tl.zeros((BLOCK_SIZE,), dtype=tl.float32)
    for i in range(T):
        t = T - 1 - i
        h = tl.load(h_ptr + t * M + offsets, mask=mask, other=0.0)
        if HAS_GV and STORE_V:
            grad_v += tl.load(gv_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        sg = _surrogate_derivative(h - v_th, alpha, SURROGATE)
        grad_h = grad_v * _reset_slope(h, sg, v_th, v_reset, HARD, DETACH, BLOCK_SIZE)
        if HAS_GS:
            grad_h += sg * tl.load(gs_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        if CELL == 2:  # F = relu(k H): dF/dk = F / k, dF/dH = k where F > 0
            grad_k += tl.where(mask & (p3 != 0.0), grad_h * h / p3, 0.0)
            grad_h = tl.where(h > 0.0, grad_h * p3, 0.0)
            scale_x = tl.where(p1 != 0.0, 1.0 / p0, 1.0)
            tl.store(gx_ptr + t * M + offsets, (grad_h * scale_x).to(gx_ptr.dtype.element_ty), mask=mask)
            grad_v = grad_h * (1.0 - 1.0 / p0)
        else:
            h_prev = tl.load(h_ptr + (t - 1) * M + offsets, mask=mask & (t > 0), other=0.0)
            v_prev = _reset(h_prev, (h_prev >= v_th).to(tl.float32), v_th, v_reset, HARD)
            v_prev = tl.where(t > 0, v_prev, v0)
            tl.store(gx_ptr + t * M + offsets, (grad_h / p0).to(gx_ptr.dtype.element_ty), mask=mask)
            grad_v = grad_h * _charge_slope(v_prev, p0, p1, p2, p3, CELL)
    tl.store(gv0_ptr + offsets, grad_v.to(gv0_ptr.dtype.element_ty), mask=mask)
    if CELL == 2:
        tl.store(gk_ptr + tl.program_id(0), tl.sum(grad_k, axis=0))


class TritonCellFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k, config) -> (spike_seq, v_seq or v_T)`` on Triton kernels."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T = x_seq.shape[0]
        x = x_seq.reshape(T, -1).contiguous()
        v_init = v0.reshape(-1).contiguous()
        M = v_init.numel()
        spikes = torch.empty_like(x)
        h = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        v_out = torch.empty_like(x) if config.store_v_seq else torch.empty_like(v_init)
        _cell_forward_kernel[(triton.cdiv(M, BLOCK),)](
            x, v_init, spikes, h, v_out, *_cell_constants(config, k), float(config.v_threshold),
            float(config.v_reset or 0.0), T, M,
            CELL=CELL_IDS[config.cell], HARD=config.v_reset is not None, STORE_V=config.store_v_seq,
            BLOCK_SIZE=BLOCK,
        )  # fmt: skip
        ctx.config, ctx.shapes = config, (x_seq.shape, v0.shape, x_seq.dtype)
        ctx.k = None if k is None else (float(k), k.dtype)
        ctx.save_for_backward(h, v_init)
        v_shape = x_seq.shape if config.store_v_seq else v0.shape
        return spikes.reshape(x_seq.shape), v_out.reshape(v_shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, None]:
        config: CellConfig = ctx.config
        h, v_init = ctx.saved_tensors
        T, M = h.shape
        x_shape, v_shape, x_dtype = ctx.shapes
        grad_x = torch.empty((T, M), dtype=x_dtype, device=h.device)
        grad_v0 = torch.empty(M, dtype=v_init.dtype, device=h.device)
        gs = grad_spike.reshape(T, M).contiguous() if grad_spike is not None else h
        gv = grad_v.reshape(-1).contiguous() if grad_v is not None else h
        blocks = triton.cdiv(M, BLOCK)
        grad_k_parts = torch.zeros(blocks, dtype=torch.float32, device=h.device)
        constants = [float(p) for p in config.params] + ([ctx.k[0]] if ctx.k is not None else [])
        _cell_backward_kernel[(blocks,)](
            h, gs, gv, v_init, grad_x, grad_v0, grad_k_parts, *constants, float(config.surrogate.alpha),
            float(config.v_threshold), float(config.v_reset or 0.0), T, M,
            CELL=CELL_IDS[config.cell], HARD=config.v_reset is not None, DETACH=config.detach_reset,
            STORE_V=config.store_v_seq, HAS_GV=grad_v is not None, HAS_GS=grad_spike is not None,
            SURROGATE=SURROGATE_IDS[type(config.surrogate)], BLOCK_SIZE=BLOCK,
        )  # fmt: skip
        grad_k = grad_k_parts.sum().to(ctx.k[1]) if ctx.k is not None and ctx.needs_input_grad[2] else None
        return grad_x.reshape(x_shape), grad_v0.reshape(v_shape), grad_k, None


def _cell_constants(config: CellConfig, k: torch.Tensor | None) -> list[float]:
    """The four constants ``p0..p3`` of the kernels (KLIF's fourth is ``k``)."""
    return [float(p) for p in config.params] + ([float(k)] if k is not None else [])


def supports(config: CellConfig) -> bool:
    """Whether the Triton kernel computes this configuration (a built-in surrogate)."""
    return config.cell in CELL_IDS and type(config.surrogate) in SURROGATE_IDS and config.surrogate.spiking


def cell_multi_step_triton(
    x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``'triton'`` kernel of ``"neuron.cell_multi_step"``; same contract as
    :func:`spikelayers_neuron.fused_cells.cell_multi_step`, to which it falls back for
    surrogates without a Triton derivative."""
    if not supports(config) or x_seq.shape[0] == 0:
        return cell_multi_step(x_seq, v0, k, config)
    return TritonCellFunction.apply(x_seq, v0, k, config)


@triton.jit
def _izhikevich_forward_kernel(
    x_ptr, v0_ptr, w0_ptr, s_ptr, h_ptr, v_ptr, w_ptr, tau, v_c, a0, v_rest, tau_w, a, b, v_th, v_reset, T, M,
    HARD: tl.constexpr, STORE_V: tl.constexpr, BLOCK_SIZE: tl.constexpr,
):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < M
    v = tl.load(v0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    w = tl.load(w0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        x = tl.load(x_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        h = v + (x + a0 * (v - v_rest) * (v - v_c) - w) / tau
        w = w + (a * (h - v_rest) - w) / tau_w
        spike = (h >= v_th).to(tl.float32)
        v = _reset(h, spike, v_th, v_reset, HARD)
        w = w + b * spike
        tl.store(s_ptr + t * M + offsets, spike.to(s_ptr.dtype.element_ty), mask=mask)
        tl.store(h_ptr + t * M + offsets, h, mask=mask)
        if STORE_V:
            tl.store(v_ptr + t * M + offsets, v.to(v_ptr.dtype.element_ty), mask=mask)
    if not STORE_V:
        tl.store(v_ptr + offsets, v.to(v_ptr.dtype.element_ty), mask=mask)
    tl.store(w_ptr + offsets, w.to(w_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _izhikevich_backward_kernel(
    h_ptr, gs_ptr, gv_ptr, gw_ptr, v0_ptr, gx_ptr, gv0_ptr, gw0_ptr,
    tau, v_c, a0, v_rest, tau_w, a, b, alpha, v_th, v_reset, T, M,
    HARD: tl.constexpr, DETACH: tl.constexpr, STORE_V: tl.constexpr, HAS_GV: tl.constexpr,
    HAS_GS: tl.constexpr, HAS_GW: tl.constexpr, SURROGATE: tl.constexpr, BLOCK_SIZE: tl.constexpr,
):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < M
    grad_v = _initial_grad_v(gv_ptr, offsets, mask, HAS_GV, STORE_V, BLOCK_SIZE)
    grad_w = tl.zeros((BLOCK_SIZE,), dtype=tl.float32)
    if HAS_GW:
        grad_w = tl.load(gw_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    v0 = tl.load(v0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    for i in range(T):
        t = T - 1 - i
        h = tl.load(h_ptr + t * M + offsets, mask=mask, other=0.0)
        if HAS_GV and STORE_V:
            grad_v += tl.load(gv_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        sg = _surrogate_derivative(h - v_th, alpha, SURROGATE)
        spike = (h >= v_th).to(tl.float32)
        grad_s = grad_w * b  # the spike's total gradient: dL/ds + gv dv/ds + gw b
        if HAS_GS:
            grad_s += tl.load(gs_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        if HARD:  # the spike that scales v_reset is never detached
            grad_s += grad_v * v_reset
            if not DETACH:
                grad_s -= grad_v * h
            grad_h = sg * grad_s + grad_v * (1.0 - spike)
        else:
            if not DETACH:
                grad_s -= grad_v * v_th
            grad_h = sg * grad_s + grad_v
        grad_h += grad_w * (a / tau_w)
        tl.store(gx_ptr + t * M + offsets, (grad_h / tau).to(gx_ptr.dtype.element_ty), mask=mask)
        grad_w = grad_w * (1.0 - 1.0 / tau_w) - grad_h / tau
        h_prev = tl.load(h_ptr + (t - 1) * M + offsets, mask=mask & (t > 0), other=0.0)
        v_prev = _reset(h_prev, (h_prev >= v_th).to(tl.float32), v_th, v_reset, HARD)
        v_prev = tl.where(t > 0, v_prev, v0)
        grad_v = grad_h * (1.0 + a0 * (2.0 * v_prev - v_rest - v_c) / tau)
    tl.store(gv0_ptr + offsets, grad_v.to(gv0_ptr.dtype.element_ty), mask=mask)
    tl.store(gw0_ptr + offsets, grad_w.to(gw0_ptr.dtype.element_ty), mask=mask)


def _izhikevich_constants(c: IzhikevichConfig) -> list[float]:
    return [float(p) for p in (c.tau, c.v_c, c.a0, c.v_rest, c.tau_w, c.a, c.b)]


class TritonIzhikevichFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0, w0 [N, *], config) -> (spike_seq, v_seq or v_T, w_T)`` on Triton kernels."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        T = x_seq.shape[0]
        x = x_seq.reshape(T, -1).contiguous()
        v_init, w_init = v0.reshape(-1).contiguous(), w0.reshape(-1).contiguous()
        M = v_init.numel()
        spikes = torch.empty_like(x)
        h = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        v_out = torch.empty_like(x) if config.store_v_seq else torch.empty_like(v_init)
        w_out = torch.empty_like(w_init)
        _izhikevich_forward_kernel[(triton.cdiv(M, BLOCK),)](
            x, v_init, w_init, spikes, h, v_out, w_out, *_izhikevich_constants(config),
            float(config.v_threshold), float(config.v_reset or 0.0), T, M,
            HARD=config.v_reset is not None, STORE_V=config.store_v_seq, BLOCK_SIZE=BLOCK,
        )  # fmt: skip
        ctx.config, ctx.shapes = config, (x_seq.shape, v0.shape, x_seq.dtype, w0.dtype)
        ctx.save_for_backward(h, v_init)
        v_shape = x_seq.shape if config.store_v_seq else v0.shape
        return spikes.reshape(x_seq.shape), v_out.reshape(v_shape), w_out.reshape(w0.shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None, grad_w: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        config: IzhikevichConfig = ctx.config
        h, v_init = ctx.saved_tensors
        T, M = h.shape
        x_shape, v_shape, x_dtype, w_dtype = ctx.shapes
        grad_x = torch.empty((T, M), dtype=x_dtype, device=h.device)
        grad_v0 = torch.empty(M, dtype=v_init.dtype, device=h.device)
        grad_w0 = torch.empty(M, dtype=w_dtype, device=h.device)
        gs = grad_spike.reshape(T, M).contiguous() if grad_spike is not None else h
        gv = grad_v.reshape(-1).contiguous() if grad_v is not None else h
        gw = grad_w.reshape(-1).contiguous() if grad_w is not None else h
        _izhikevich_backward_kernel[(triton.cdiv(M, BLOCK),)](
            h, gs, gv, gw, v_init, grad_x, grad_v0, grad_w0, *_izhikevich_constants(config),
            float(config.surrogate.alpha), float(config.v_threshold), float(config.v_reset or 0.0), T, M,
            HARD=config.v_reset is not None, DETACH=config.detach_reset, STORE_V=config.store_v_seq,
            HAS_GV=grad_v is not None, HAS_GS=grad_spike is not None, HAS_GW=grad_w is not None,
            SURROGATE=SURROGATE_IDS[type(config.surrogate)], BLOCK_SIZE=BLOCK,
        )  # fmt: skip
        return grad_x.reshape(x_shape), grad_v0.reshape(v_shape), grad_w0.reshape(v_shape), None


def izhikevich_multi_step_triton(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``'triton'`` kernel of ``"neuron.izhikevich_multi_step"``; same contract as
    :func:`spikelayers_neuron.fused_cells.izhikevich_multi_step`, to which it falls back for
    surrogates without a Triton derivative."""
    surrogate = config.surrogate
    if type(surrogate) not in SURROGATE_IDS or not surrogate.spiking or x_seq.shape[0] == 0:
        return izhikevich_multi_step(x_seq, v0, w0, config)
    return TritonIzhikevichFunction.apply(x_seq, v0, w0, config)
