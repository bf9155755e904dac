"""Triton kernels of the neurons' multi-step path (forward and backward).

Each program owns a block of neurons and loops over ``T``; values are computed in
float32 whatever the storage dtype. Only the built-in surrogates (Sigmoid, ATan,
PiecewiseQuadratic with ``spiking=True``) have a Triton derivative; a neuron with any
other surrogate runs the PyTorch kernel instead. Readable definition:
:mod:`spikelayers_neuron.reference`. This module imports triton; the kernel registry
loads it only when the ``'triton'`` backend is asked for.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

from .dynamics import NeuronConfig
from .fused import neuron_multi_step
from .surrogate import ATan, PiecewiseQuadratic, Sigmoid

BLOCK = 256
SURROGATE_IDS = {Sigmoid: 0, ATan: 1, PiecewiseQuadratic: 2}


@triton.jit
def _reset(h, spike, v_th, v_reset, HARD: tl.constexpr):
    """The potential after firing ``spike`` from ``h``: hard reset to ``v_reset`` or soft (minus ``v_th``)."""
    if HARD:  # noqa: SIM108 (a constexpr branch)
        v = h - h * spike + v_reset * spike
    else:
        v = h - v_th * spike
    return v


@triton.jit
def _reset_slope(h, sg, v_th, v_reset, HARD: tl.constexpr, DETACH: tl.constexpr, BLOCK_SIZE: tl.constexpr):
    """``d v / d h`` through firing and reset, ``sg`` the surrogate derivative at ``h - v_th``."""
    spike = (h >= v_th).to(tl.float32)
    if HARD:
        slope = 1.0 - spike
        if not DETACH:
            slope += (v_reset - h) * sg
    else:
        slope = tl.full((BLOCK_SIZE,), 1.0, tl.float32)
        if not DETACH:
            slope -= v_th * sg
    return slope


@triton.jit
def _fire_and_store(h, v_th, v_reset, s_ptr, h_ptr, v_ptr, at, mask, HARD: tl.constexpr, STORE_V: tl.constexpr):
    """Fire and reset from the charged ``h``; store the spike and ``h`` (and ``v`` with
    ``STORE_V``) at the flat positions ``at``; return ``v``."""
    spike = (h >= v_th).to(tl.float32)
    v = _reset(h, spike, v_th, v_reset, HARD)
    tl.store(s_ptr + at, spike.to(s_ptr.dtype.element_ty), mask=mask)
    tl.store(h_ptr + at, h, mask=mask)
    if STORE_V:
        tl.store(v_ptr + at, v.to(v_ptr.dtype.element_ty), mask=mask)
    return v


@triton.jit
def _initial_grad_v(gv_ptr, offsets, mask, HAS_GV: tl.constexpr, STORE_V: tl.constexpr, BLOCK_SIZE: tl.constexpr):
    """The gradient of the final ``v`` that the backward sweep starts from (zero unless only
    the final ``v`` is returned and it has a gradient)."""
    grad_v = tl.zeros((BLOCK_SIZE,), dtype=tl.float32)
    if HAS_GV and not STORE_V:
        grad_v = tl.load(gv_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    return grad_v


@triton.jit
def _forward_kernel(
    x_ptr, v0_ptr, s_ptr, h_ptr, v_ptr, k, v_th, v_reset, v_rest, T, M,
    KIND_IF: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD: tl.constexpr, STORE_V: tl.constexpr,
    BLOCK_SIZE: tl.constexpr,
):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < M
    v = tl.load(v0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        x = tl.load(x_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        if KIND_IF:
            h = v + x
        elif DECAY_INPUT:
            h = v + (x + v_rest - v) * k
        else:
            h = v - (v - v_rest) * k + x
        v = _fire_and_store(h, v_th, v_reset, s_ptr, h_ptr, v_ptr, t * M + offsets, mask, HARD, STORE_V)
    if not STORE_V:
        tl.store(v_ptr + offsets, v.to(v_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _surrogate_derivative(z, alpha, SURROGATE: tl.constexpr):
    if SURROGATE == 0:
        sig = 1.0 / (1.0 + tl.exp(-alpha * z))
        sg = alpha * sig * (1.0 - sig)
    elif SURROGATE == 1:
        w = 1.5707963267948966 * alpha * z
        sg = alpha * 0.5 / (1.0 + w * w)
    else:
        sg = tl.maximum(alpha - alpha * alpha * tl.abs(z), 0.0)
    return sg


@triton.jit
def _backward_kernel(
    h_ptr, gs_ptr, gv_ptr, x_ptr, v0_ptr, gx_ptr, gv0_ptr, gk_ptr, k, alpha, v_th, v_reset, v_rest, T, M,
    KIND_IF: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD: tl.constexpr, DETACH: tl.constexpr,
    STORE_V: tl.constexpr, HAS_GV: tl.constexpr, HAS_GS: tl.constexpr, NEED_GK: tl.constexpr,
    SURROGATE: tl.constexpr, BLOCK_SIZE: tl.constexpr,
):  # fmt: skip
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < M
    if KIND_IF:
        carry = 1.0
        scale_x = 1.0
    else:
        carry = 1.0 - k
        scale_x = k if DECAY_INPUT else 1.0
    grad_v = _initial_grad_v(gv_ptr, offsets, mask, HAS_GV, STORE_V, BLOCK_SIZE)
    grad_k = tl.zeros((BLOCK_SIZE,), dtype=tl.float32)
    v0 = tl.load(v0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    for i in range(T):
        t = T - 1 - i
        h = tl.load(h_ptr + t * M + offsets, mask=mask, other=0.0)
        if HAS_GV and STORE_V:
            grad_v += tl.load(gv_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        sg = _surrogate_derivative(h - v_th, alpha, SURROGATE)
        grad_h = grad_v * _reset_slope(h, sg, v_th, v_reset, HARD, DETACH, BLOCK_SIZE)
        if HAS_GS:
            grad_h += sg * tl.load(gs_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        if NEED_GK:
            h_prev = tl.load(h_ptr + (t - 1) * M + offsets, mask=mask & (t > 0), other=0.0)
            v_prev = _reset(h_prev, (h_prev >= v_th).to(tl.float32), v_th, v_reset, HARD)
            v_prev = tl.where(t > 0, v_prev, v0)
            slope_k = v_rest - v_prev
            if DECAY_INPUT:
                slope_k += tl.load(x_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
            grad_k += tl.where(mask, grad_h * slope_k, 0.0)
        tl.store(gx_ptr + t * M + offsets, (grad_h * scale_x).to(gx_ptr.dtype.element_ty), mask=mask)
        grad_v = grad_h * carry
    tl.store(gv0_ptr + offsets, grad_v.to(gv0_ptr.dtype.element_ty), mask=mask)
    if NEED_GK:
        tl.store(gk_ptr + tl.program_id(0), tl.sum(grad_k, axis=0))


class TritonNeuronFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k) -> (spike_seq, v_seq or v_T)`` on Triton kernels."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T = x_seq.shape[0]
        x = x_seq.reshape(T, -1).contiguous()
        v_init = v0.reshape(-1).contiguous()
        M = v_init.numel()
        spikes = torch.empty_like(x)
        h = torch.empty(x.shape, dtype=torch.float32, device=x.device)
        v_out = torch.empty_like(x) if config.store_v_seq else torch.empty_like(v_init)
        k_value = float(k) if k is not None else 0.0
        hard = config.v_reset is not None
        grid = (triton.cdiv(M, BLOCK),)
        _forward_kernel[grid](
            x, v_init, spikes, h, v_out, k_value, float(config.v_threshold),
            float(config.v_reset or 0.0), float(config.charge_reset), T, M,
            KIND_IF=config.kind == "if", DECAY_INPUT=config.decay_input, HARD=hard,
            STORE_V=config.store_v_seq, BLOCK_SIZE=BLOCK,
        )  # fmt: skip
        ctx.config, ctx.k_value, ctx.k_is_tensor = config, k_value, isinstance(k, torch.Tensor)
        ctx.k_dtype = k.dtype if isinstance(k, torch.Tensor) else None
        ctx.shapes = (x_seq.shape, v0.shape)
        ctx.save_for_backward(h, v_init, x if config.kind == "plif" and config.decay_input else None)
        v_shape = x_seq.shape if config.store_v_seq else v0.shape
        return spikes.reshape(x_seq.shape), v_out.reshape(v_shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        config: NeuronConfig = ctx.config
        h, v_init, x = ctx.saved_tensors
        T, M = h.shape
        x_shape, v_shape = ctx.shapes
        dtype = v_init.dtype
        grad_x = torch.empty((T, M), dtype=dtype, device=h.device)
        grad_v0 = torch.empty(M, dtype=dtype, device=h.device)
        blocks = triton.cdiv(M, BLOCK)
        need_gk = ctx.k_is_tensor and ctx.needs_input_grad[2]
        grad_k_parts = torch.zeros(blocks, dtype=torch.float32, device=h.device)
        gs = grad_spike.reshape(T, M).contiguous() if grad_spike is not None else h
        gv = grad_v.reshape(-1).contiguous() if grad_v is not None else h
        _backward_kernel[(blocks,)](
            h, gs, gv, x if x is not None else h, v_init, grad_x, grad_v0, grad_k_parts,
            ctx.k_value, float(config.surrogate.alpha), float(config.v_threshold),
            float(config.v_reset or 0.0), float(config.charge_reset), T, M,
            KIND_IF=config.kind == "if", DECAY_INPUT=config.decay_input,
            HARD=config.v_reset is not None, DETACH=config.detach_reset, STORE_V=config.store_v_seq,
            HAS_GV=grad_v is not None, HAS_GS=grad_spike is not None, NEED_GK=need_gk,
            SURROGATE=SURROGATE_IDS[type(config.surrogate)], BLOCK_SIZE=BLOCK,
        )  # fmt: skip
        # The decay's gradient keeps its own dtype (a float32 parameter beside bfloat16 inputs).
        grad_k = grad_k_parts.sum().to(ctx.k_dtype) if need_gk else None
        return grad_x.reshape(x_shape), grad_v0.reshape(v_shape), grad_k, None


def unsupported_reason(surrogate: type, spiking: bool) -> str | None:
    """Why the Triton kernel cannot run a neuron with this surrogate (the kernel spec's
    ``supports``), or ``None`` when it can: only the built-in spiking surrogates have a
    Triton derivative."""
    if surrogate not in SURROGATE_IDS:
        built_in = ", ".join(cls.__name__ for cls in SURROGATE_IDS)
        return f"the surrogate {surrogate.__name__} has no Triton derivative (built in: {built_in})"
    if not spiking:
        return "a surrogate with spiking=False has no Triton kernel"
    return None


def supports(config: NeuronConfig) -> bool:
    """Whether the Triton kernel computes this configuration (its surrogate is built in)."""
    surrogate = config.surrogate
    return unsupported_reason(type(surrogate), bool(getattr(surrogate, "spiking", True))) is None


def neuron_multi_step_triton(
    x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``'triton'`` kernel of ``"neuron.multi_step"``; same contract as
    :func:`spikelayers_neuron.fused.neuron_multi_step`, to which it falls back for a
    surrogate without a Triton derivative."""
    if not supports(config) or x_seq.shape[0] == 0:
        return neuron_multi_step(x_seq, v0, k, config)
    return TritonNeuronFunction.apply(x_seq, v0, k, config)
