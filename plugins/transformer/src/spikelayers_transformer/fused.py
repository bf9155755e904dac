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


def is_power_of_two(scale: float) -> bool:
    """Whether multiplying by ``scale`` only shifts the exponent (so it commutes exactly with sums)."""
    return scale > 0 and math.frexp(scale)[0] == 0.5


def ssa_scores(qkv: torch.Tensor, num_heads: int, scale: float) -> torch.Tensor:
    """``(V Kᵀ) Q * scale``: ``[T, N, 3C, L] -> [T, N, heads, d, L]``, batched over ``T``, ``N`` and heads.

    The product is associative, so it is taken in the cheaper order: ``(V Kᵀ) Q`` costs
    ``2 d² L`` per head and ``V (Kᵀ Q)`` ``2 d L²``. With spike inputs every partial sum
    is an integer, so both orders give the same values. A power-of-two ``scale`` is
    applied to the small ``d x d`` (or ``L x L``) factor instead of the full-size result:
    it only moves exponents, so the values are the same and a pass over ``[T, N, C, L]``
    (forward and backward) is saved.
    """
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
    y = F.conv2d(s.flatten(0, 1), weight, bias, first.stride, first.padding, first.dilation, first.groups)
    parts = y.split([conv.out_channels for conv in convs], dim=1)
    return tuple(batch_norm(part.contiguous(), norm).unflatten(0, s.shape[:2]) for norm, part in zip(norms, parts))
