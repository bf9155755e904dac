"""Triton kernel of seeded dropout (forward and backward), op ``"dropout.seeded"``.

Each program owns a block of one step's mask positions: it draws their uniform numbers
from the seed once (``tl.rand``, Philox), then walks over ``T`` multiplying the block of
every step. Nothing but the seed is kept for the backward, which regenerates the same
mask and multiplies the output gradient by it (the op is linear in its input). The
readable definition is
:func:`spikelayers_dropout.seeded_reference.seeded_dropout_reference`. The registry
imports this module only when the ``'triton'`` backend is chosen.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from .seeded_reference import check_group, check_seed

BLOCK = 1024


@triton.jit
def _seeded_multiply_kernel(x_ptr, out_ptr, seed, T, M, group, p, scale, BLOCK: tl.constexpr):
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    in_step = offsets < M
    keep = tl.rand(seed, offsets // group) >= p
    factor = tl.where(keep, scale, 0.0)
    for t in range(T):
        position = t * M + offsets
        x = tl.load(x_ptr + position, mask=in_step, other=0.0).to(tl.float32)
        tl.store(out_ptr + position, (x * factor).to(out_ptr.dtype.element_ty), mask=in_step)


def _seeded_multiply(x: torch.Tensor, seed: int, p: float, group: int) -> torch.Tensor:
    """``x`` ``[T, M]`` (contiguous) times the seeded mask of ``M // group`` elements."""
    T, M = x.shape
    out = torch.empty_like(x)
    if x.numel():
        grid = (triton.cdiv(M, BLOCK),)
        _seeded_multiply_kernel[grid](x, out, seed, T, M, group, p, 1.0 / (1.0 - p), BLOCK=BLOCK)
    return out


class TritonSeededDropoutFunction(torch.autograd.Function):
    """``(x [T, M], seed, p, group) -> [T, M]``; saves no tensor for the backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, seed: int, p: float, group: int) -> torch.Tensor:
        ctx.mask_args = (seed, p, group)
        return _seeded_multiply(x, seed, p, group)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_x = _seeded_multiply(grad_out.contiguous(), *ctx.mask_args) if ctx.needs_input_grad[0] else None
        return grad_x, None, None, None


def seeded_dropout(x_seq: torch.Tensor, seed: int, p: float, group: int = 1) -> torch.Tensor:
    """Seeded dropout of ``x_seq`` ``[T, *step]``, in triton; same arguments and result as
    :func:`~spikelayers_dropout.seeded_reference.seeded_dropout_reference`."""
    step_numel = check_group(x_seq, group)
    x = x_seq.contiguous().view(x_seq.shape[0], step_numel)
    return TritonSeededDropoutFunction.apply(x, check_seed(seed), float(p), int(group)).view(x_seq.shape)
