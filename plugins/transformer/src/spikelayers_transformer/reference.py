"""Readable definitions of the attention cores, one time step and one head at a time.

These are the formulas of the blocks, written for reading; :mod:`.fused` computes the
same over all steps and heads at once, and the tests hold the two together. Head ``h``
owns channels ``h * d .. h * d + d - 1`` of each of Q, K and V (``d = C // heads``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _head(x_step: torch.Tensor, part: int, head: int, channels: int, head_dim: int) -> torch.Tensor:
    """Channels of ``head`` in part ``part`` (0 Q, 1 K, 2 V) of one step ``[N, parts * C, *]``."""
    start = part * channels + head * head_dim
    return x_step[:, start : start + head_dim]


def ssa_scores_reference(qkv: torch.Tensor, num_heads: int, scale: float) -> torch.Tensor:
    """Spikformer's attention before its neuron: ``(V Kᵀ) Q * scale`` per step and head.

    ``qkv`` ``[T, N, 3C, L]`` (Q, K, V stacked on channels) -> ``[T, N, heads, d, L]``.
    """
    channels = qkv.shape[2] // 3
    head_dim = channels // num_heads
    steps = []
    for x in qkv:
        heads = []
        for h in range(num_heads):
            q, k, v = (_head(x, part, h, channels, head_dim) for part in range(3))
            heads.append((v @ k.transpose(-2, -1)) @ q * scale)
        steps.append(torch.stack(heads, dim=1))
    return torch.stack(steps)


def qk_summary_reference(qk: torch.Tensor, num_heads: int, qka_type: str) -> tuple[torch.Tensor, torch.Tensor]:
    """QKFormer's query summary and keys per step and head.

    ``qk`` ``[T, N, 2C, L]`` -> ``(summary, keys)``: ``'token'`` sums each head's Q over
    its ``d`` channels (``[T, N, heads, 1, L]``), ``'channel'`` over the ``L`` tokens
    (``[T, N, heads, d, 1]``); keys ``[T, N, heads, d, L]``.
    """
    channels = qk.shape[2] // 2
    head_dim = channels // num_heads
    dim = -2 if qka_type == "token" else -1
    summaries, keys = [], []
    for x in qk:
        step_summaries, step_keys = [], []
        for h in range(num_heads):
            q, k = (_head(x, part, h, channels, head_dim) for part in range(2))
            step_summaries.append(q.sum(dim=dim, keepdim=True))
            step_keys.append(k)
        summaries.append(torch.stack(step_summaries, dim=1))
        keys.append(torch.stack(step_keys, dim=1))
    return torch.stack(summaries), torch.stack(keys)


def sdsa_kv_reference(k: torch.Tensor, v: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Spike-driven attention's key-value summary: per head and channel, the sum over tokens of ``k * v``.

    ``k``, ``v`` ``[T, N, C, H, W]`` -> ``[T, N, heads, 1, d]`` (tokens are the ``H * W`` positions).
    """
    channels = k.shape[2]
    head_dim = channels // num_heads
    steps = []
    for k_step, v_step in zip(k, v):
        heads = []
        for h in range(num_heads):
            k_head = _head(k_step, 0, h, channels, head_dim).flatten(2)  # [N, d, H*W]
            v_head = _head(v_step, 0, h, channels, head_dim).flatten(2)
            heads.append((k_head * v_head).sum(dim=-1).unsqueeze(1))  # [N, 1, d]
        steps.append(torch.stack(heads, dim=1))
    return torch.stack(steps)


def sdsa_qkv_reference(
    s: torch.Tensor, convs: Sequence[nn.Module], norms: Sequence[nn.Module]
) -> tuple[torch.Tensor, ...]:
    """Spike-driven attention's projections, one at a time: ``norm_i(conv_i(s))`` for Q, K and V.

    ``s`` ``[T, N, C, H, W]`` -> three ``[T, N, C, H, W]``; time is folded into the batch
    (batch norm takes its statistics over all steps at once).
    """
    folded = s.flatten(0, 1)
    return tuple(norm(conv(folded)).unflatten(0, s.shape[:2]) for conv, norm in zip(convs, norms))
