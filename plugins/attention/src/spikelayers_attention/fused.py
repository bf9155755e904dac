"""The attention layers' fast path.

:func:`multi_dimensional_attention_pooled` computes every score from small pooled
tensors (per-map sums and maxima) instead of pooling each intermediate product, and
touches the full-size data in two multiplies; :func:`~spikelayers_attention.blockwise.blockwise`
runs it (and the temporal attention) on cache-sized sample blocks, recomputing in backward.
Both equal :mod:`spikelayers_attention.reference` in value and gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .blockwise import blockwise
from .reference import shared_mlp, temporal_wise_attention


def multi_dimensional_attention_pooled(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
) -> torch.Tensor:
    """:func:`~spikelayers_attention.reference.multi_dimensional_attention` from pooled maps.

    ``x`` ``[T, N, C, H, W]``. The temporal and channel scores are positive, so the channel
    pooling of ``x * st`` is ``st`` times the pooling of ``x``: both come from the per-map
    sums ``S`` and maxima ``M`` ``[T, N, C]``. The spatial maps pool ``z = x * st * sc``.
    """
    steps, _, channels, height, width = x.shape
    v = x.flatten(3)
    sums = v.sum(dim=3)
    peaks = v.amax(dim=3)
    avg_t = sums.sum(dim=2).t() / (channels * height * width)
    max_t = peaks.amax(dim=2).t()
    st = torch.sigmoid(shared_mlp(avg_t, wt1, wt2) + shared_mlp(max_t, wt1, wt2)).t()[:, :, None]
    avg_c = (sums * st).sum(dim=0) / (steps * height * width)
    max_c = (peaks * st).amax(dim=0)
    sc = torch.sigmoid(shared_mlp(avg_c, wc1, wc2) + shared_mlp(max_c, wc1, wc2))
    z = v * (st * sc)[..., None]
    maps = torch.stack((z.sum(dim=0).sum(dim=1) / (steps * channels), z.amax(dim=0).amax(dim=1)), dim=1)
    ss = torch.sigmoid(F.conv2d(maps.unflatten(2, (height, width)), ws, padding=ws.shape[-1] // 2))
    return torch.relu(z * ss.flatten(2)).unflatten(3, (height, width))


def temporal_wise_attention_fast(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Temporal-wise attention over ``x`` ``[T, N, *]``, block by block."""
    return blockwise(temporal_wise_attention, x, w1, w2)


def multi_dimensional_attention_fast(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
) -> torch.Tensor:
    """Multi-dimensional attention over ``x`` ``[T, N, C, H, W]``, block by block."""
    return blockwise(multi_dimensional_attention_pooled, x, wt1, wt2, wc1, wc2, ws)
