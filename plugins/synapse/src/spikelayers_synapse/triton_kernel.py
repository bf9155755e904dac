"""Triton kernels of the synapse filter (forward and backward), op ``"synapse.filter"``.

Each program owns a block of the flattened ``[M]`` positions and walks over ``T``,
keeping the running current (forward) or the running adjoint (backward) in registers.
Same maths as :mod:`spikelayers_synapse.fused` and
:func:`spikelayers_synapse.reference.reference_synapse_filter`. The registry imports
this module only when the ``'triton'`` backend is chosen.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

BLOCK = 1024


@triton.jit
def _forward_kernel(x_ptr, i0_ptr, out_ptr, T, M, k_ptr, BLOCK: tl.constexpr):
    k = tl.load(k_ptr).to(tl.float32)
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < M
    current = tl.load(i0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        s = tl.load(x_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        current = current - (1.0 - s) * current * k + s
        tl.store(out_ptr + t * M + offsets, current.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _backward_kernel(
    grad_out_ptr, x_ptr, out_ptr, i0_ptr, grad_x_ptr, grad_i0_ptr, grad_k_ptr, T, M, k_ptr, BLOCK: tl.constexpr
):
    k = tl.load(k_ptr).to(tl.float32)
    block = tl.program_id(0)
    offsets = block * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < M
    carry = tl.zeros([BLOCK], dtype=tl.float32)
    grad_k = tl.zeros([BLOCK], dtype=tl.float32)
    for step in range(T):
        t = T - 1 - step
        g = tl.load(grad_out_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32) + carry
        s = tl.load(x_ptr + t * M + offsets, mask=mask, other=0.0).to(tl.float32)
        if t > 0:
            previous = tl.load(out_ptr + (t - 1) * M + offsets, mask=mask, other=0.0).to(tl.float32)
        else:
            previous = tl.load(i0_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
        tl.store(grad_x_ptr + t * M + offsets, (g * (1.0 + k * previous)).to(grad_x_ptr.dtype.element_ty), mask=mask)
        grad_k += g * (s - 1.0) * previous
        carry = g * (1.0 - k + k * s)
    tl.store(grad_i0_ptr + offsets, carry.to(grad_i0_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_k_ptr + block, tl.sum(tl.where(mask, grad_k, 0.0), axis=0))


def _grid(M: int) -> tuple[int]:
    return (max(1, triton.cdiv(M, BLOCK)),)


class TritonSynapseFilterFunction(torch.autograd.Function):
    """``(x [T, M], i0 [M], decay) -> I [T, M]`` with triton kernels."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, i0: torch.Tensor, decay: float | torch.Tensor) -> torch.Tensor:
        # The decay goes to the kernels as a one-element tensor: a learnable one is never
        # read back to the host (no device sync, no graph break under torch.compile).
        if isinstance(decay, torch.Tensor):
            k = decay.detach().to(device=x.device, dtype=torch.float32).reshape(1)
        else:
            k = torch.full((1,), float(decay), dtype=torch.float32, device=x.device)
        T, M = x.shape
        out = torch.empty_like(x)
        _forward_kernel[_grid(M)](x, i0, out, T, M, k, BLOCK=BLOCK)
        ctx.decay_dtype = decay.dtype if isinstance(decay, torch.Tensor) else None
        ctx.save_for_backward(x, out, i0, k)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, out, i0, k = ctx.saved_tensors
        T, M = x.shape
        grid = _grid(M)
        grad_x = torch.empty_like(x)
        grad_i0 = torch.empty_like(i0)
        partial = torch.zeros(grid[0], dtype=torch.float32, device=x.device)
        _backward_kernel[grid](grad_out.contiguous(), x, out, i0, grad_x, grad_i0, partial, T, M, k, BLOCK=BLOCK)
        grad_k = partial.sum().to(ctx.decay_dtype) if ctx.decay_dtype is not None and ctx.needs_input_grad[2] else None
        return (
            grad_x if ctx.needs_input_grad[0] else None,
            grad_i0 if ctx.needs_input_grad[1] else None,
            grad_k,
        )


def synapse_filter(x_seq: torch.Tensor, i0: torch.Tensor, decay: float | torch.Tensor) -> torch.Tensor:
    """The synapse filter over ``x_seq`` ``[T, *]`` from ``i0`` ``[*]`` (``decay = 1/tau``), in triton."""
    T = x_seq.shape[0]
    shape = x_seq.shape
    x = x_seq.contiguous().reshape(T, -1)
    i0_flat = i0.to(x.dtype).contiguous().reshape(-1)
    return TritonSynapseFilterFunction.apply(x, i0_flat, decay).view(shape)
