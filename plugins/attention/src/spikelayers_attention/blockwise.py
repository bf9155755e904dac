"""Run a per-sample computation block by block, recomputing it in backward.

Both attention layers mix values only within one sample (every pooling is over dims of
that sample), so ``f(x)[:, n]`` depends on ``x[:, n]`` alone. :func:`blockwise` exploits
that: the forward runs ``f`` on cache-sized blocks of samples and writes each block of
the output in place; nothing full-size is saved for backward except the input, and the
backward recomputes ``f`` on each block under autograd and writes that block of the input
gradient. The full-size temporaries of ``f`` thus exist only one small block at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

BlockFunction = Callable[..., torch.Tensor]

#: Elements per block: about 2 MiB of float32, so that a block and its temporaries stay in cache.
BLOCK_ELEMENTS = 1 << 19


def _blocks(x: torch.Tensor, block_elements: int) -> list[slice]:
    per_sample = max(x[:, :1].numel(), 1)
    size = max(1, block_elements // per_sample)
    return [slice(start, min(start + size, x.shape[1])) for start in range(0, x.shape[1], size)]


class _Blockwise(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, fn: BlockFunction, block_elements: int, x: torch.Tensor, *params: torch.Tensor
    ) -> torch.Tensor:
        ctx.fn = fn
        ctx.block_elements = block_elements
        ctx.save_for_backward(x, *params)
        return _run_blocks(fn, x, params, block_elements)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, *params = ctx.saved_tensors
        need_x = ctx.needs_input_grad[2]
        need_params = [ctx.needs_input_grad[3 + i] for i in range(len(params))]
        grad_x = torch.empty_like(x) if need_x else None
        grad_params: list[torch.Tensor | None] = [None] * len(params)
        for block in _blocks(x, ctx.block_elements):
            with torch.enable_grad():
                xb = x[:, block].detach().requires_grad_(need_x)
                leaves = [p.detach().requires_grad_(need) for p, need in zip(params, need_params)]
                out = ctx.fn(xb, *leaves)
                inputs = [t for t in (xb, *leaves) if t.requires_grad]
                grads = iter(torch.autograd.grad(out, inputs, grad_out[:, block], allow_unused=True))
            if need_x:
                grad_x[:, block] = next(grads)
            for i, need in enumerate(need_params):
                if need:
                    g = next(grads)
                    if g is not None:
                        grad_params[i] = g if grad_params[i] is None else grad_params[i] + g
        for i, p in enumerate(params):
            if need_params[i] and grad_params[i] is None:
                grad_params[i] = torch.zeros_like(p)
        return (None, None, grad_x, *grad_params)


def _run_blocks(
    fn: BlockFunction, x: torch.Tensor, params: Sequence[torch.Tensor], block_elements: int
) -> torch.Tensor:
    blocks = _blocks(x, block_elements)
    if len(blocks) == 1:
        return fn(x, *params)
    first = fn(x[:, blocks[0]], *params)
    out = first.new_empty((x.shape[0], x.shape[1], *first.shape[2:]))
    out[:, blocks[0]] = first
    for block in blocks[1:]:
        out[:, block] = fn(x[:, block], *params)
    return out


def blockwise(
    fn: BlockFunction, x: torch.Tensor, *params: torch.Tensor, block_elements: int = BLOCK_ELEMENTS
) -> torch.Tensor:
    """``fn(x, *params)`` for a per-sample ``fn`` over ``x`` ``[T, N, *]``, block by block.

    Equal (outputs and gradients) to calling ``fn`` once; the blocks split ``N``.
    """
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
    if not needs_grad:
        return _run_blocks(fn, x, params, block_elements)
    return _Blockwise.apply(fn, block_elements, x, *params)
