"""Readable transcriptions of the attention formulas, in plain PyTorch.

These define the behaviour: the layers' fast path (:mod:`spikelayers_attention.fused`)
computes the same values and gradients from pooled tensors, block by block, and is
tested against them. Shapes:
``T`` steps, ``N`` samples, ``C`` channels, ``H x W`` maps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shared_mlp(v: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """``relu(v @ w1.T) @ w2.T`` over the last dim; ``w1`` is ``[hidden, in]``, ``w2`` ``[in, hidden]``."""
    return F.relu(v @ w1.flatten(1).t()) @ w2.flatten(1).t()


def temporal_scores(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Temporal attention scores ``[T, N]`` of ``x`` ``[T, N, *]``.

    Per sample, average and max over every dim but ``T`` give two ``[N, T]`` vectors; both
    go through one MLP ``T -> hidden -> T`` and ``sigmoid`` of their sum is the score.
    """
    flat = x.flatten(2)
    avg = flat.mean(dim=2).t()
    peak = flat.amax(dim=2).t()
    return torch.sigmoid(shared_mlp(avg, w1, w2) + shared_mlp(peak, w1, w2)).t()


def temporal_wise_attention(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """``x * score`` for ``x`` ``[T, N, *]``, the score ``[T, N]`` broadcast over ``*``."""
    score = temporal_scores(x, w1, w2)
    return x * score.reshape(*score.shape, *([1] * (x.dim() - 2)))


def multi_dimensional_attention(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
) -> torch.Tensor:
    """Temporal, then channel, then spatial attention, then ReLU; ``x`` is ``[T, N, C, H, W]``.

    ``wt1, wt2``: temporal MLP weights (``[T // r_t, T, ...]``, ``[T, T // r_t, ...]``);
    ``wc1, wc2``: channel MLP weights; ``ws``: the ``[1, 2, k, k]`` spatial convolution.
    Maxima reduce the spatial map first, then the other dims (this fixes how the gradient
    is shared among tied maxima).
    """
    avg_t = x.mean(dim=(2, 3, 4)).t()
    max_t = x.amax(dim=(3, 4)).amax(dim=2).t()
    st = torch.sigmoid(shared_mlp(avg_t, wt1, wt2) + shared_mlp(max_t, wt1, wt2)).t()
    out = x * st[:, :, None, None, None]
    avg_c = out.mean(dim=(0, 3, 4))
    max_c = out.amax(dim=(3, 4)).amax(dim=0)
    sc = torch.sigmoid(shared_mlp(avg_c, wc1, wc2) + shared_mlp(max_c, wc1, wc2))
    out = out * sc[None, :, :, None, None]
    maps = torch.stack((out.mean(dim=(0, 2)), out.amax(dim=0).amax(dim=1)), dim=1)
    ss = torch.sigmoid(F.conv2d(maps, ws, padding=ws.shape[-1] // 2))
    out = out * ss[None]
    return F.relu(out)
