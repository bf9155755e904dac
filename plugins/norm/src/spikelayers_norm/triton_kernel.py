"""Triton kernels of NeuNorm's multi-step recurrence (forward and backward), op ``"norm.neunorm"``.

Per step, with input ``s`` ``[N, C, H, W]``, memory ``x`` ``[N, 1, H, W]`` and weight ``w``
``[C, H, W]`` or ``[1, H, W]``::

    x <- k * x + (1 - k) / C**2 * s.sum(dim=1, keepdim=True)
    y  = s - w * x

The readable definition is :func:`spikelayers_norm.neunorm.neunorm_reference`; the
result (outputs, final memory, gradients of the input, the initial memory and ``w``)
equals that of :func:`spikelayers_norm.neunorm.neunorm_multi_step`.

Each program owns one sample ``n`` and a block of ``H*W`` positions, keeps its tile of
``w`` and the memory in registers and walks over ``T``: one read of the input and one
write of the output per step. The forward saves the memory of every step
(``[T, N, H*W]`` in float32, ``1/C`` of the input) for the backward, which walks ``T``
in reverse with the adjoint of the memory in registers and writes one partial
``w``-gradient per program, summed over ``N`` afterwards (deterministic). Arithmetic is
float32; loads and stores use the tensors' dtypes. The registry imports this module
only when the ``'triton'`` backend is chosen.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

TILE = 4096
"""About how many elements of the input one program holds per step (``BLOCK_C * BLOCK_HW``)."""

DTYPES = (torch.float32, torch.bfloat16, torch.float16)


@triton.jit
def _program_tile(C, HW, BLOCK_C: tl.constexpr, BLOCK_HW: tl.constexpr):
    """This program's sample ``n``, positions ``hw`` with their mask, and the ``[BLOCK_C, BLOCK_HW]``
    tile of offsets within one ``[C, HW]`` sample with its mask."""
    pid = tl.program_id(0)
    hw_blocks = tl.cdiv(HW, BLOCK_HW)
    n = (pid // hw_blocks).to(tl.int64)
    hw = (pid % hw_blocks) * BLOCK_HW + tl.arange(0, BLOCK_HW)
    c = tl.arange(0, BLOCK_C)
    hw_mask = hw < HW
    mask = (c[:, None] < C) & hw_mask[None, :]
    tile = c[:, None] * HW + hw[None, :]
    return n, hw, hw_mask, mask, tile


@triton.jit
def _load_weight(w_ptr, hw, hw_mask, tile, mask, SHARED: tl.constexpr):
    """This program's weights in float32: ``[BLOCK_HW]`` when shared across channels, else
    the ``[BLOCK_C, BLOCK_HW]`` tile."""
    if SHARED:
        w = tl.load(w_ptr + hw, mask=hw_mask, other=0.0).to(tl.float32)
    else:
        w = tl.load(w_ptr + tile, mask=mask, other=0.0).to(tl.float32)
    return w


@triton.jit
def _forward_kernel(
    s_ptr,
    x0_ptr,
    w_ptr,
    y_ptr,
    x_seq_ptr,
    x_last_ptr,
    T,
    C,
    HW,
    step_s,
    step_x,
    k,
    a,
    SHARED: tl.constexpr,
    BLOCK_C: tl.constexpr,
    BLOCK_HW: tl.constexpr,
):
    n, hw, hw_mask, mask, tile = _program_tile(C, HW, BLOCK_C, BLOCK_HW)
    w = _load_weight(w_ptr, hw, hw_mask, tile, mask, SHARED)
    x = tl.load(x0_ptr + n * HW + hw, mask=hw_mask, other=0.0).to(tl.float32)
    s_ptrs = s_ptr + n * C * HW + tile
    y_ptrs = y_ptr + n * C * HW + tile
    x_ptrs = x_seq_ptr + n * HW + hw
    for _ in range(T):
        s = tl.load(s_ptrs, mask=mask, other=0.0).to(tl.float32)
        x = k * x + a * tl.sum(s, axis=0)
        y = s - w * x[None, :]
        tl.store(y_ptrs, y.to(y_ptr.dtype.element_ty), mask=mask)
        tl.store(x_ptrs, x, mask=hw_mask)
        s_ptrs += step_s
        y_ptrs += step_s
        x_ptrs += step_x
    tl.store(x_last_ptr + n * HW + hw, x.to(x_last_ptr.dtype.element_ty), mask=hw_mask)


@triton.jit
def _backward_kernel(
    gy_ptr,
    x_seq_ptr,
    w_ptr,
    g_last_ptr,
    gs_ptr,
    gx0_ptr,
    gw_ptr,
    T,
    C,
    HW,
    step_s,
    step_x,
    last_s,
    last_x,
    k,
    a,
    SHARED: tl.constexpr,
    WRITE_GRAD_S: tl.constexpr,
    BLOCK_C: tl.constexpr,
    BLOCK_HW: tl.constexpr,
):
    n, hw, hw_mask, mask, tile = _program_tile(C, HW, BLOCK_C, BLOCK_HW)
    w = _load_weight(w_ptr, hw, hw_mask, tile, mask, SHARED)
    # The partial w-gradient has the weight's shape: [BLOCK_HW] shared, else [BLOCK_C, BLOCK_HW].
    gw = tl.zeros_like(w)
    # The adjoint of the memory, starting from the gradient of the final memory.
    acc = tl.load(g_last_ptr + n * HW + hw, mask=hw_mask, other=0.0).to(tl.float32)
    gy_ptrs = gy_ptr + last_s + n * C * HW + tile
    gs_ptrs = gs_ptr + last_s + n * C * HW + tile
    x_ptrs = x_seq_ptr + last_x + n * HW + hw
    for _ in range(T):
        gy = tl.load(gy_ptrs, mask=mask, other=0.0).to(tl.float32)
        x = tl.load(x_ptrs, mask=hw_mask, other=0.0)
        if SHARED:
            gy_sum = tl.sum(gy, axis=0)
            acc = acc - w * gy_sum
            gw = gw - gy_sum * x
        else:
            acc = acc - tl.sum(gy * w, axis=0)
            gw = gw - gy * x[None, :]
        if WRITE_GRAD_S:
            tl.store(gs_ptrs, (gy + a * acc[None, :]).to(gs_ptr.dtype.element_ty), mask=mask)
        acc = acc * k
        gy_ptrs -= step_s
        gs_ptrs -= step_s
        x_ptrs -= step_x
    tl.store(gx0_ptr + n * HW + hw, acc.to(gx0_ptr.dtype.element_ty), mask=hw_mask)
    if SHARED:
        tl.store(gw_ptr + n * HW + hw, gw, mask=hw_mask)
    else:
        tl.store(gw_ptr + n * C * HW + tile, gw, mask=mask)


def _blocks(C: int, HW: int) -> tuple[int, int]:
    """``(BLOCK_C, BLOCK_HW)``: all channels, and enough positions for a tile of about :data:`TILE`."""
    block_c = triton.next_power_of_2(C)
    block_hw = max(1, min(triton.next_power_of_2(HW), TILE // block_c))
    return block_c, block_hw


class TritonNeuNormFunction(torch.autograd.Function):
    """``(s [T, N, C, HW], x0 [N, HW], w [C or 1, HW], k) -> (y [T, N, C, HW], x_last [N, HW])``.

    All tensors contiguous. ``y`` has ``out_dtype``; ``x_last`` has ``last_dtype``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        s: torch.Tensor,
        x0: torch.Tensor,
        w: torch.Tensor,
        k: float,
        out_dtype: torch.dtype,
        last_dtype: torch.dtype,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T, N, C, HW = s.shape
        a = (1.0 - k) / C**2
        block_c, block_hw = _blocks(C, HW)
        y = torch.empty(s.shape, dtype=out_dtype, device=s.device)
        x_seq = torch.empty((T, N, HW), dtype=torch.float32, device=s.device)
        x_last = torch.empty((N, HW), dtype=last_dtype, device=s.device)
        grid = (N * triton.cdiv(HW, block_hw),)
        if grid[0] > 0:
            _forward_kernel[grid](
                s,
                x0,
                w,
                y,
                x_seq,
                x_last,
                T,
                C,
                HW,
                N * C * HW,
                N * HW,
                k,
                a,
                SHARED=w.shape[0] == 1 and C != 1,
                BLOCK_C=block_c,
                BLOCK_HW=block_hw,
            )
        ctx.save_for_backward(x_seq, w)
        ctx.k, ctx.a = k, a
        ctx.s_dtype, ctx.x0_dtype = s.dtype, x0.dtype
        return y, x_last

    @staticmethod
    def backward(ctx: Any, grad_y: torch.Tensor, grad_last: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x_seq, w = ctx.saved_tensors
        T, N, C, HW = grad_y.shape
        block_c, block_hw = _blocks(C, HW)
        shared = w.shape[0] == 1 and C != 1
        write_grad_s = bool(ctx.needs_input_grad[0])
        grad_y = grad_y.contiguous()
        grad_last = grad_last.contiguous()
        # Without a gradient for the input, the kernel writes none (grad_y stands in as its pointer).
        grad_s = torch.empty(grad_y.shape, dtype=ctx.s_dtype, device=grad_y.device) if write_grad_s else grad_y
        grad_x0 = torch.empty((N, HW), dtype=ctx.x0_dtype, device=grad_y.device)
        # One partial w-gradient per sample; every element is written by exactly one program.
        partial = torch.empty((N, *w.shape), dtype=torch.float32, device=grad_y.device)
        grid = (N * triton.cdiv(HW, block_hw),)
        last = max(T - 1, 0)
        if grid[0] > 0:
            _backward_kernel[grid](
                grad_y,
                x_seq,
                w,
                grad_last,
                grad_s,
                grad_x0,
                partial,
                T,
                C,
                HW,
                N * C * HW,
                N * HW,
                last * N * C * HW,
                last * N * HW,
                ctx.k,
                ctx.a,
                SHARED=shared,
                WRITE_GRAD_S=write_grad_s,
                BLOCK_C=block_c,
                BLOCK_HW=block_hw,
            )
        grad_w = partial.sum(0).to(w.dtype) if ctx.needs_input_grad[2] else None
        return (
            grad_s if write_grad_s else None,
            grad_x0 if ctx.needs_input_grad[1] else None,
            grad_w,
            None,
            None,
            None,
        )


def _check(s_seq: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> None:
    if s_seq.dim() != 5:
        raise ValueError(f"NeuNorm (triton): expects an input [T, N, C, H, W], got shape {tuple(s_seq.shape)}")
    _, N, C, H, W = s_seq.shape
    if w.dim() != 3 or w.shape[0] not in (1, C) or tuple(w.shape[1:]) != (H, W):
        raise ValueError(
            f"NeuNorm (triton): expects a weight [{C}, {H}, {W}] or [1, {H}, {W}] for an input "
            f"{tuple(s_seq.shape)}, got {tuple(w.shape)}"
        )
    try:
        torch.broadcast_shapes(x.shape, (N, 1, H, W))
    except RuntimeError:
        raise ValueError(
            f"NeuNorm (triton): expects a memory of shape [{N}, 1, {H}, {W}], got {tuple(x.shape)}"
        ) from None
    for name, tensor in (("input", s_seq), ("memory", x), ("weight", w)):
        if tensor.dtype not in DTYPES:
            raise TypeError(
                f"NeuNorm (triton): the {name} has dtype {tensor.dtype}; the triton kernels take "
                f"{', '.join(str(d) for d in DTYPES)} (use backend='torch' for others)"
            )
        if tensor.device != s_seq.device:
            raise ValueError(f"NeuNorm (triton): the {name} is on {tensor.device}, the input on {s_seq.device}")


def neunorm_multi_step(
    s_seq: torch.Tensor, x: torch.Tensor, w: torch.Tensor, k: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """NeuNorm over a sequence with the triton kernels.

    Args:
        s_seq: input ``[T, N, C, H, W]``.
        x: memory before the first step, ``[N, 1, H, W]`` (or broadcastable to it).
        w: weight ``[C, H, W]`` or ``[1, H, W]``.
        k: momentum of the running average.

    Returns:
        The output ``[T, N, C, H, W]`` and the memory after the last step ``[N, 1, H, W]``,
        as :func:`spikelayers_norm.neunorm.neunorm_multi_step`.
    """
    _check(s_seq, x, w)
    T, N, C, H, W = s_seq.shape
    out_dtype = torch.promote_types(torch.promote_types(s_seq.dtype, x.dtype), w.dtype)
    last_dtype = torch.promote_types(s_seq.dtype, x.dtype)
    s = s_seq.contiguous().view(T, N, C, H * W)
    x0 = x.expand(N, 1, H, W).contiguous().view(N, H * W)
    w_flat = w.contiguous().view(w.shape[0], H * W)
    y, x_last = TritonNeuNormFunction.apply(s, x0, w_flat, float(k), out_dtype, last_dtype)
    return y.view(T, N, C, H, W), x_last.view(N, 1, H, W)
