"""The attention cores over all time steps and heads at once (no Python loop).

Each attention function computes what its namesake in :mod:`.reference` defines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from spikelayers.batch_statistics import batch_norm
from spikelayers.kernels import torch_func_active


def is_power_of_two(scale: float) -> bool:
    """Whether multiplying by ``scale`` only shifts the exponent (so it commutes exactly with sums)."""
    return scale > 0 and math.frexp(scale)[0] == 0.5


class _HeadwiseScores(torch.autograd.Function):
    """``(V Kᵀ * scale) Q`` head by head: ``qkv`` ``[B, 3, heads, d, L]`` -> ``[B, heads, d, L]``.

    Each head's Q, K and V are strided ``[B, d, L]`` views of ``qkv``, so no copy of them is
    made; the backward writes each head's three gradients into one ``[B, 3, heads, d, L]``
    tensor (no concatenation). Saves ``qkv`` and the small ``d x d`` products.
    """

    @staticmethod
    def forward(qkv: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _, heads, head_dim, tokens = qkv.shape
        scores = qkv.new_empty(batch, heads, head_dim, tokens)
        small = qkv.new_empty(batch, heads, head_dim, head_dim)
        for h in range(heads):
            q, k, v = qkv[:, 0, h], qkv[:, 1, h], qkv[:, 2, h]
            small_h = torch.bmm(v, k.mT).mul_(scale)
            small[:, h] = small_h
            scores[:, h] = torch.bmm(small_h, q)
        return scores, small

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
        qkv, scale = inputs
        ctx.save_for_backward(qkv, output[1])
        ctx.scale = scale
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx, grad_scores: torch.Tensor, _grad_small):  # type: ignore[no-untyped-def]
        qkv, small = ctx.saved_tensors
        grad = torch.empty_like(qkv)
        for h in range(qkv.shape[2]):
            q, k, v = qkv[:, 0, h], qkv[:, 1, h], qkv[:, 2, h]
            g = grad_scores[:, h]
            grad[:, 0, h] = torch.bmm(small[:, h].mT, g)
            grad_small = torch.bmm(g, q.mT).mul_(ctx.scale)  # d(V Kᵀ)
            grad[:, 2, h] = torch.bmm(grad_small, k)
            grad[:, 1, h] = torch.bmm(grad_small.mT, v)
        return grad, None


def ssa_scores(qkv: torch.Tensor, num_heads: int, scale: float) -> torch.Tensor:
    """``(V Kᵀ) Q * scale``: ``[T, N, 3C, L] -> [T, N, heads, d, L]``, batched over ``T``, ``N`` and heads.

    The product is associative, so it is taken in the cheaper order: ``(V Kᵀ) Q`` costs
    ``2 d² L`` per head and ``V (Kᵀ Q)`` ``2 d L²``. With spike inputs every partial sum
    is an integer, so both orders give the same values. A power-of-two ``scale`` is
    applied to the small ``d x d`` (or ``L x L``) factor instead of the full-size result:
    it only moves exponents, so the values are the same and a pass over ``[T, N, C, L]``
    (forward and backward) is saved. In the common case (``d <= L``, such a scale, outside
    :mod:`torch.func` and ``torch.compile``) one autograd function runs the heads on views
    of ``qkv`` and writes its gradient in place of the copies and concatenation that
    autograd's per-head products would make.
    """
    head_dim, tokens = qkv.shape[2] // (3 * num_heads), qkv.shape[-1]
    fold = is_power_of_two(scale)
    if fold and head_dim <= tokens and not torch_func_active() and not torch.compiler.is_compiling():
        steps = qkv.shape[:2]
        batched = qkv.contiguous().view(-1, 3, num_heads, head_dim, tokens)
        scores, _ = _HeadwiseScores.apply(batched, scale)
        return scores.unflatten(0, steps)
    return ssa_scores_by_autograd(qkv, num_heads, scale)


def ssa_scores_by_autograd(qkv: torch.Tensor, num_heads: int, scale: float) -> torch.Tensor:
    """:func:`ssa_scores` as batched products that autograd differentiates (any ``scale``,
    ``d``, transform or compiler)."""
    q, k, v = qkv.unflatten(2, (3, num_heads, -1)).unbind(2)
    head_dim, tokens = q.shape[-2], q.shape[-1]
    keys_t = k.transpose(-2, -1)
    fold = is_power_of_two(scale)
    if head_dim <= tokens:
        small = v @ keys_t
        scores = (small * scale if fold else small) @ q
    else:
        small = keys_t @ q
        scores = v @ (small * scale if fold else small)
    return scores if fold else scores * scale


def qk_summary(qk: torch.Tensor, num_heads: int, qka_type: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Query summary and keys: ``[T, N, 2C, L] -> ([T, N, heads, 1, L] or [T, N, heads, d, 1], [T, N, heads, d, L])``."""
    q, k = qk.unflatten(2, (2, num_heads, -1)).unbind(2)
    dim = -2 if qka_type == "token" else -1
    return q.sum(dim=dim, keepdim=True), k


def sdsa_kv(k: torch.Tensor, v: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Sum over tokens of ``k * v`` per channel: ``[T, N, C, H, W] -> [T, N, heads, 1, d]``.

    One batched dot product per channel, without a full-size product in memory.
    """
    kv = torch.linalg.vecdot(k.flatten(3), v.flatten(3))  # [T, N, C]
    return kv.unflatten(2, (num_heads, 1, -1))


def is_pointwise(conv: nn.Module) -> bool:
    """Whether ``conv`` is a stock 1x1 :class:`torch.nn.Conv2d` (stride 1, no padding or
    dilation, one group) whose call would run nothing else (no hooks)."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (1, 1)
        and conv.stride == (1, 1)
        and conv.padding in ((0, 0), "valid")
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and not (conv._forward_hooks or conv._forward_pre_hooks or conv._backward_hooks or conv._backward_pre_hooks)
    )


def pointwise_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 convolution ``[B, C, H, W] -> [B, C', H, W]`` (``weight`` ``[C', C, 1, 1]``) as a
    one-dimensional one over the ``H * W`` positions: the same products, which torch's CPU
    convolution runs (forward and backward) about a tenth faster than the 2-D form."""
    y = F.conv1d(x.flatten(2), weight.flatten(2), bias)
    return y.unflatten(2, x.shape[2:])


def conv_then_norm(x_seq: torch.Tensor, conv: nn.Module, norm: nn.Module) -> torch.Tensor:
    """``norm(conv(x))`` with time folded into the batch: ``[T, N, C, H, W] -> [T, N, C', H, W]``."""
    x = x_seq.flatten(0, 1)
    y = pointwise_conv(x, conv.weight, conv.bias) if is_pointwise(conv) else conv(x)
    return batch_norm(y, norm).unflatten(0, x_seq.shape[:2])


def sdsa_qkv(s: torch.Tensor, convs: Sequence[nn.Conv2d], norms: Sequence[nn.Module]) -> tuple[torch.Tensor, ...]:
    """``norm_i(conv_i(s))`` for the Q, K and V projections: ``[T, N, C, H, W] -> 3 x [T, N, C, H, W]``.

    One convolution with the three weights stacked on the output channels reads ``s``
    once and, backward, gives its gradient in one product instead of three summed ones.
    Each batch norm then runs on a contiguous copy of its channels, through
    :func:`spikelayers.batch_statistics.batch_norm` (the module's own results, faster).
    """
    weight = torch.cat([conv.weight for conv in convs])
    biases = [conv.bias for conv in convs]
    bias = None if any(b is None for b in biases) else torch.cat(biases)
    first = convs[0]
    if all(is_pointwise(conv) for conv in convs):
        y = pointwise_conv(s.flatten(0, 1), weight, bias)
    else:
        y = F.conv2d(s.flatten(0, 1), weight, bias, first.stride, first.padding, first.dilation, first.groups)
    parts = y.split([conv.out_channels for conv in convs], dim=1)
    return tuple(batch_norm(part.contiguous(), norm).unflatten(0, s.shape[:2]) for norm, part in zip(norms, parts))
