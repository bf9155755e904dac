"""The attention cores over all time steps and heads at once (no Python loop).

Each function computes what its namesake in :mod:`.reference` defines.
"""

from __future__ import annotations

import torch


def ssa_scores(qkv: torch.Tensor, num_heads: int, scale: float) -> torch.Tensor:
    """``(V Kᵀ) Q * scale``: ``[T, N, 3C, L] -> [T, N, heads, d, L]``, batched over ``T``, ``N`` and heads.

    The product is associative, so it is taken in the cheaper order: ``(V Kᵀ) Q`` costs
    ``2 d² L`` per head and ``V (Kᵀ Q)`` ``2 d L²``. With spike inputs every partial sum
    is an integer, so both orders give the same values.
    """
    q, k, v = qkv.unflatten(2, (3, num_heads, -1)).unbind(2)
    head_dim, tokens = q.shape[-2], q.shape[-1]
    keys_t = k.transpose(-2, -1)
    scores = (v @ keys_t) @ q if head_dim <= tokens else v @ (keys_t @ q)
    return scores * scale


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
