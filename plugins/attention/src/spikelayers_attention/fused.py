"""The attention layers' fast path.

Every pooling of both layers stays within one sample, so the layers run on cache-sized
blocks of samples (:func:`sample_blocks`): each block is read from memory once, its
intermediates live in cache, and its output is written once. All scores come from small
pooled tensors: the temporal and channel scores of ``MultiDimensionalAttention`` are
positive, so the channel pooling of ``x * st`` is ``st`` times the per-map sums and
maxima of ``x``. The autograd functions save only the input and recompute each block in
backward, with hand-written full-size gradients and autograd over the small score
graphs. Values and gradients equal :mod:`spikelayers_attention.reference`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .reference import shared_mlp

#: Elements per block: about 2 MiB of float32, so that a block and its temporaries stay in cache.
BLOCK_ELEMENTS = 1 << 19


def sample_blocks(x: torch.Tensor, block_elements: int) -> list[slice]:
    """Slices of dim 1 (samples) of ``x`` ``[T, N, *]``, each about ``block_elements`` large."""
    per_sample = max(x[:, :1].numel(), 1)
    size = max(1, block_elements // per_sample)
    return [slice(start, min(start + size, x.shape[1])) for start in range(0, x.shape[1], size)]


def time_channel_scores(
    sums: torch.Tensor,
    peaks: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    map_size: int,
) -> torch.Tensor:
    """``st * sc`` ``[T, N, C]`` from the per-map sums and maxima ``[T, N, C]`` of ``x``.

    The temporal and channel scores are positive, so the channel pooling of ``x * st`` is
    ``st`` times the pooling of ``x``. ``map_size`` is ``H * W``.
    """
    steps, _, channels = sums.shape
    avg_t = sums.sum(dim=2).t() / (channels * map_size)
    max_t = peaks.amax(dim=2).t()
    st = torch.sigmoid(shared_mlp(avg_t, wt1, wt2) + shared_mlp(max_t, wt1, wt2)).t()[:, :, None]
    avg_c = (sums * st).sum(dim=0) / (steps * map_size)
    max_c = (peaks * st).amax(dim=0)
    sc = torch.sigmoid(shared_mlp(avg_c, wc1, wc2) + shared_mlp(max_c, wc1, wc2))
    return st * sc


def spatial_scores(sums: torch.Tensor, peaks: torch.Tensor, ws: torch.Tensor, count: int, height: int) -> torch.Tensor:
    """``ss`` ``[N, 1, H * W]`` from the sum and maximum ``[N, H * W]`` over ``count = T * C`` maps."""
    maps = torch.stack((sums / count, peaks), dim=1).unflatten(2, (height, -1))
    return torch.sigmoid(F.conv2d(maps, ws, padding=ws.shape[-1] // 2)).flatten(2)


def multi_dimensional_attention_pooled(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
) -> torch.Tensor:
    """:func:`~spikelayers_attention.reference.multi_dimensional_attention` from pooled maps.

    ``x`` ``[T, N, C, H, W]``. The scores come from the per-map sums and maxima; the
    full-size data is touched by the two pooling reductions, ``z = x * st * sc``, the
    spatial pooling of ``z`` and ``relu(z * ss)``.
    """
    steps, _, channels, height, width = x.shape
    v = x.flatten(3)
    a = time_channel_scores(v.sum(dim=3), v.amax(dim=3), wt1, wt2, wc1, wc2, height * width)
    z = v * a[..., None]
    ss = spatial_scores(z.sum(dim=0).sum(dim=1), z.amax(dim=0).amax(dim=1), ws, steps * channels, height)
    return torch.relu(z * ss).unflatten(3, (height, width))


def _share(ties: torch.Tensor, grad: torch.Tensor, dim: int) -> torch.Tensor:
    """The gradient ``grad`` of a maximum over ``dim``, shared evenly among the ``ties`` (bool mask)."""
    count = torch.count_nonzero(ties, dim=dim).unsqueeze(dim)
    return torch.where(ties, grad / count, 0.0)


def _multi_dimensional_forward(x: torch.Tensor, weights: tuple[torch.Tensor, ...], block_elements: int) -> torch.Tensor:
    """The forward of :func:`multi_dimensional_attention_pooled`, block by block, into one output."""
    wt1, wt2, wc1, wc2, ws = weights
    steps, _, channels, height, width = x.shape
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    for block in sample_blocks(x, block_elements):
        v = x[:, block].flatten(3)
        a = time_channel_scores(v.sum(dim=3), v.amax(dim=3), wt1, wt2, wc1, wc2, height * width)
        z = v * a[..., None]
        ss = spatial_scores(z.sum(dim=0).sum(dim=1), z.amax(dim=0).amax(dim=1), ws, steps * channels, height)
        torch.clamp_min(z.mul_(ss), 0, out=out[:, block].flatten(3))
    return out


class _MultiDimensionalAttention(torch.autograd.Function):
    """:func:`multi_dimensional_attention_pooled` over sample blocks with a hand-written backward.

    The backward recomputes each block's full-size intermediates (in cache) and sends the
    gradient through the small score graphs with autograd.
    """

    @staticmethod
    def forward(ctx: Any, block_elements: int, x: torch.Tensor, *weights: torch.Tensor) -> torch.Tensor:
        ctx.block_elements = block_elements
        ctx.save_for_backward(x, *weights)
        return _multi_dimensional_forward(x, weights, block_elements)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, *weights = ctx.saved_tensors
        wt1, wt2, wc1, wc2, ws = weights
        need_x = ctx.needs_input_grad[1]
        grad_x = torch.empty_like(x, memory_format=torch.contiguous_format) if need_x else None
        grad_w: list[torch.Tensor | None] = [None] * 5
        steps, _, channels, height, width = x.shape
        for block in sample_blocks(x, ctx.block_elements):
            v = x[:, block].flatten(3)
            gy = grad_out[:, block].flatten(3)
            with torch.enable_grad():
                sums = v.sum(dim=3).requires_grad_(True)
                peaks = v.amax(dim=3).requires_grad_(True)
                leaves1 = [w.detach().requires_grad_(True) for w in (wt1, wt2, wc1, wc2)]
                a = time_channel_scores(sums, peaks, *leaves1, height * width)
            a_data = a.detach()[..., None]
            z = v * a_data
            r = z.amax(dim=0)
            q_peaks = r.amax(dim=1)
            with torch.enable_grad():
                q_sums = z.sum(dim=0).sum(dim=1).requires_grad_(True)
                q_max = q_peaks.requires_grad_(True)
                ws_leaf = ws.detach().requires_grad_(True)
                ss = spatial_scores(q_sums, q_max, ws_leaf, steps * channels, height)
            g = torch.where(z > 0, gy, 0.0)
            grad_ss = (g * z).sum(dim=0).sum(dim=1, keepdim=True)
            g_qsum, g_qmax, g_ws = torch.autograd.grad(ss, (q_sums, q_max, ws_leaf), grad_ss)
            gz = g.mul_(ss.detach())
            gz += g_qsum[None, :, None, :]
            # maxima: over C of r (= max over T of z), then over T of z; ties share evenly.
            tie_c = r == q_peaks[:, None, :]
            g_r = _share(tie_c, g_qmax[:, None, :], dim=1)
            gz += _share(z == r[None], g_r[None], dim=0)
            grad_a = (gz * v).sum(dim=3)
            g_sums, g_peaks, *g_w1 = torch.autograd.grad(a, (sums, peaks, *leaves1), grad_a)
            for i, g_w in enumerate((*g_w1, g_ws)):
                grad_w[i] = g_w if grad_w[i] is None else grad_w[i] + g_w
            if need_x:
                gx = grad_x[:, block].flatten(3)
                torch.mul(gz, a_data, out=gx)
                gx += g_sums[..., None]
                gx += _share(v == peaks.detach()[..., None], g_peaks[..., None], dim=3)
        return (None, grad_x, *grad_w)


def multi_dimensional_attention_blocks(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
    block_elements: int = BLOCK_ELEMENTS,
) -> torch.Tensor:
    """:func:`multi_dimensional_attention_pooled` on sample blocks, recomputing in backward."""
    weights = (wt1, wt2, wc1, wc2, ws)
    if torch.is_grad_enabled() and (x.requires_grad or any(w.requires_grad for w in weights)):
        return _MultiDimensionalAttention.apply(block_elements, x, *weights)
    return _multi_dimensional_forward(x, weights, block_elements)


def temporal_scores_pooled(avg: torch.Tensor, peak: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Scores ``[T, N]`` from the per-step average and maximum ``[T, N]``."""
    return torch.sigmoid(shared_mlp(avg.t(), w1, w2) + shared_mlp(peak.t(), w1, w2)).t()


def _temporal_forward(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, block_elements: int) -> torch.Tensor:
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    steps, size = x.shape[0], math.prod(x.shape[2:])
    for block in sample_blocks(x, block_elements):
        v = x[:, block].reshape(steps, -1, size)
        score = temporal_scores_pooled(v.mean(dim=2), v.amax(dim=2), w1, w2)
        torch.mul(v, score[..., None], out=out[:, block].view(v.shape))
    return out


class _TemporalWiseAttention(torch.autograd.Function):
    """``x * score`` over sample blocks with a hand-written backward (nothing full-size saved but ``x``)."""

    @staticmethod
    def forward(ctx: Any, block_elements: int, x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        ctx.block_elements = block_elements
        ctx.save_for_backward(x, w1, w2)
        return _temporal_forward(x, w1, w2, block_elements)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w1, w2 = ctx.saved_tensors
        need_x = ctx.needs_input_grad[1]
        grad_x = torch.empty_like(x, memory_format=torch.contiguous_format) if need_x else None
        grad_w: list[torch.Tensor | None] = [None, None]
        steps, size = x.shape[0], math.prod(x.shape[2:])
        for block in sample_blocks(x, ctx.block_elements):
            v = x[:, block].reshape(steps, -1, size)
            gy = grad_out[:, block].reshape(v.shape)
            with torch.enable_grad():
                avg = v.mean(dim=2).requires_grad_(True)
                peak = v.amax(dim=2).requires_grad_(True)
                leaves = [w1.detach().requires_grad_(True), w2.detach().requires_grad_(True)]
                score = temporal_scores_pooled(avg, peak, *leaves)
            grad_score = (gy * v).sum(dim=2)
            g_avg, g_peak, *g_w = torch.autograd.grad(score, (avg, peak, *leaves), grad_score)
            for i in range(2):
                grad_w[i] = g_w[i] if grad_w[i] is None else grad_w[i] + g_w[i]
            if need_x:
                gx = grad_x[:, block].view(v.shape)
                torch.mul(gy, score.detach()[..., None], out=gx)
                gx += (g_avg / size)[..., None]
                gx += _share(v == peak.detach()[..., None], g_peak[..., None], dim=2)
        return (None, grad_x, *grad_w)


def temporal_wise_attention_fast(
    x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, block_elements: int = BLOCK_ELEMENTS
) -> torch.Tensor:
    """Temporal-wise attention over ``x`` ``[T, N, *]``, block by block, recomputing in backward."""
    if torch.is_grad_enabled() and (x.requires_grad or w1.requires_grad or w2.requires_grad):
        return _TemporalWiseAttention.apply(block_elements, x, w1, w2)
    return _temporal_forward(x, w1, w2, block_elements)


def multi_dimensional_attention_fast(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
) -> torch.Tensor:
    """Multi-dimensional attention over ``x`` ``[T, N, C, H, W]``, block by block."""
    return multi_dimensional_attention_blocks(x, wt1, wt2, wc1, wc2, ws)
