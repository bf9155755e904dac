"""The attention layers' fast path.

Every pooling of both layers stays within one sample, so the layers run on cache-sized
blocks of samples (:func:`sample_blocks`): each block is read from memory once, its
full-size temporaries live in cache, and its output is written once. All scores come
from small pooled tensors: the temporal and channel scores of
``MultiDimensionalAttention`` are positive, so the channel pooling of ``x * st`` is
``st`` times the per-map sums and maxima of ``x``. The autograd functions save the
input and the small pooled tensors of every block; the backward recomputes only the
full-size products, in cache, and is written by hand down to the weights (no autograd
inside it). Tie masks are float tensors (comparisons into a float buffer), so that
sharing a maximum's gradient among its ties costs three cheap passes. Values and
gradients equal :mod:`spikelayers_attention.reference`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from spikelayers.kernels import reference_under_torch_func

from .reference import multi_dimensional_attention, shared_mlp, temporal_wise_attention

#: Elements per block of ``MultiDimensionalAttention``: about 2 MiB of float32, so that a
#: block and its temporaries stay in cache (measured best on CPU; 4 MiB is twice slower).
BLOCK_ELEMENTS = 1 << 19
#: Elements per block of ``TemporalWiseAttention``, which has fewer temporaries (measured best: 8 MiB).
TEMPORAL_BLOCK_ELEMENTS = 1 << 21

_sigmoid_backward = torch.ops.aten.sigmoid_backward
_threshold_backward = torch.ops.aten.threshold_backward
_convolution_backward = torch.ops.aten.convolution_backward


def sample_blocks(x: torch.Tensor, block_elements: int) -> list[slice]:
    """Slices of dim 1 (samples) of ``x`` ``[T, N, *]``, each about ``block_elements`` large."""
    if 0 < x.numel() <= block_elements:
        return [slice(0, x.shape[1])]
    per_sample = max(x[:, :1].numel(), 1)
    size = max(1, block_elements // per_sample)
    return [slice(start, min(start + size, x.shape[1])) for start in range(0, x.shape[1], size)]


def _conv(maps: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
    """``conv2d(maps, ws)`` with same padding; ``maps`` ``[b, 2, H, W]``, ``ws`` ``[1, 2, k, k]``.

    On CPU the direct (unfold) kernel: for these one-output-channel maps it is several
    times faster than oneDNN's, forward and backward.
    """
    k = ws.shape[-1]
    if maps.device.type == "cpu":
        return torch.ops.aten._slow_conv2d_forward(maps, ws, [k, k], None, [1, 1], [k // 2, k // 2])
    return F.conv2d(maps, ws, padding=k // 2)


def _conv_backward(g: torch.Tensor, maps: torch.Tensor, ws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients ``(g_maps, g_ws)`` of :func:`_conv` from ``g`` ``[b, 1, H, W]``."""
    k = ws.shape[-1]
    if maps.device.type == "cpu":
        g_maps, g_ws, _ = torch.ops.aten._slow_conv2d_backward(
            g, maps, ws, [k, k], [1, 1], [k // 2, k // 2], [True, True, False]
        )
    else:
        g_maps, g_ws, _ = torch.ops.aten.convolution_backward(
            g, maps, ws, None, [1, 1], [k // 2, k // 2], [1, 1], False, [0, 0], 1, [True, True, False]
        )
    return g_maps, g_ws


# The shared MLPs, features first: ``sums`` and ``peaks`` ``[F, n]`` are the sums and the
# maxima of ``n`` samples, the averages being ``sums * scale``; ``w1`` is ``[h, F]``, ``w2``
# ``[F, h]``. ``relu(w1 @ (scale * s)) = scale * relu(w1 @ s)`` for ``scale > 0``.


def _mlp(
    sums: torch.Tensor, peaks: torch.Tensor, scale: float, w1: torch.Tensor, w2: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """``sigmoid(mlp(avg) + mlp(max))`` ``[F, n]`` and the hidden activations ``[h, n]`` (sums', peaks', total)."""
    h_sums = (w1 @ sums).clamp_min_(0)
    h_peaks = (w1 @ peaks).clamp_min_(0)
    hidden = torch.add(h_peaks, h_sums, alpha=scale)
    return torch.sigmoid(w2 @ hidden), h_sums, h_peaks, hidden


def _mlp_backward(
    g_score: torch.Tensor,
    sums: torch.Tensor,
    peaks: torch.Tensor,
    scale: float,
    w1: torch.Tensor,
    w2: torch.Tensor,
    score: torch.Tensor,
    h_sums: torch.Tensor,
    h_peaks: torch.Tensor,
    hidden: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """Gradients ``(g_sums [F, n], g_peaks [F, n], g_w1 [h, F], g_w2 [F, h])`` of :func:`_mlp`."""
    g_out = _sigmoid_backward(g_score, score)
    g_w2 = g_out @ hidden.t()
    g_hidden = w2.t() @ g_out
    g_hs = _threshold_backward(g_hidden, h_sums, 0).mul_(scale)
    g_hp = _threshold_backward(g_hidden, h_peaks, 0)
    g_w1 = torch.addmm(g_hp @ peaks.t(), g_hs, sums.t())
    return w1.t() @ g_hs, w1.t() @ g_hp, g_w1, g_w2


def _add_shared(
    grad: torch.Tensor, x: torch.Tensor, peak: torch.Tensor, g_peak: torch.Tensor, dim: int, mask: torch.Tensor
) -> None:
    """``grad += g_peak`` shared evenly among the elements of ``x`` equal to ``peak`` along ``dim``.

    ``peak`` and ``g_peak`` have ``x``'s shape with ``dim`` of size 1; ``mask`` is a float
    scratch tensor shaped like ``x`` (a float mask is several times faster than a bool one).
    """
    torch.eq(x, peak, out=mask)
    grad.addcmul_(mask, g_peak / mask.sum(dim, keepdim=True))


def _accumulate(total: list[torch.Tensor], parts: tuple[torch.Tensor, ...]) -> None:
    for acc, part in zip(total, parts):
        acc += part.view_as(acc)


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
    spatial pooling of ``z`` and ``relu(z * ss)``. Differentiable by autograd.
    """
    steps, _, channels, height, width = x.shape
    v = x.flatten(3)
    a = time_channel_scores(v.sum(dim=3), v.amax(dim=3), wt1, wt2, wc1, wc2, height * width)
    z = v * a[..., None]
    ss = spatial_scores(z.sum(dim=0).sum(dim=1), z.amax(dim=0).amax(dim=1), ws, steps * channels, height)
    return torch.relu(z * ss).unflatten(3, (height, width))


def _flat(weights: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """The four MLP weights as ``[out, in]`` matrices, the spatial convolution weight as it is."""
    return (*(w.flatten(1) for w in weights[:4]), weights[4])


def _md_block_forward(
    v: torch.Tensor, out: torch.Tensor | None, weights: tuple[torch.Tensor, ...], height: int
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """One block ``v`` ``[T, b, C, P]`` (into ``out`` if given): the output and the block's pooled tensors."""
    wt1, wt2, wc1, wc2, ws = weights
    steps, _, channels, size = v.shape
    sums, peaks = v.sum(3), v.amax(3)
    t_sums, t_peaks = sums.sum(2), peaks.amax(2)
    st, *t_hidden = _mlp(t_sums, t_peaks, 1 / (channels * size), wt1, wt2)
    st3 = st[:, :, None]
    c_sums = (sums * st3).sum(0).t()
    c_peaks = (peaks * st3).amax(0).t()
    sc, *c_hidden = _mlp(c_sums, c_peaks, 1 / (steps * size), wc1, wc2)
    a = st3 * sc.t()
    z = v * a[..., None]
    q_max = z.amax(0).amax(1)
    maps = torch.stack((z.sum((0, 2)).div_(steps * channels), q_max), 1).unflatten(2, (height, -1))
    ss = torch.sigmoid(_conv(maps, ws)).view(1, -1, 1, size)
    out = torch.clamp_min(z.mul_(ss), 0, out=out)
    return out, (sums, peaks, t_sums, t_peaks, st, *t_hidden, c_sums, c_peaks, sc, *c_hidden, a, maps, ss, q_max)


def _run_blocks(
    v: torch.Tensor,
    blocks: list[slice],
    block_forward: Callable[[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, tuple[torch.Tensor, ...]]],
    keep: bool,
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, ...]]]:
    """Run ``block_forward(v_block, out_block)`` over the sample blocks of ``v`` ``[T, N, ...]``.

    One block writes a fresh output (``out_block=None``); several write into one
    preallocated output. Returns the output and, if ``keep``, every block's pooled tensors.
    """
    if len(blocks) == 1:
        out, pooled = block_forward(v, None)
        return out, [pooled] if keep else []
    out = torch.empty(v.shape, dtype=v.dtype, device=v.device)
    saved = []
    for block in blocks:
        _, pooled = block_forward(v[:, block], out[:, block])
        if keep:
            saved.append(pooled)
    return out, saved


def _multi_dimensional_forward(
    x: torch.Tensor, weights: tuple[torch.Tensor, ...], block_elements: int, keep: bool
) -> tuple[torch.Tensor, list[slice], list[tuple[torch.Tensor, ...]]]:
    """The output ``[T, N, C, H, W]``, the sample blocks and (if ``keep``) each block's pooled tensors."""
    height = x.shape[3]
    blocks = sample_blocks(x, block_elements)
    out, saved = _run_blocks(x.flatten(3), blocks, lambda vb, ob: _md_block_forward(vb, ob, weights, height), keep)
    return out.view(x.shape), blocks, saved


def _md_block_backward(
    v: torch.Tensor,
    gy: torch.Tensor,
    gx: torch.Tensor | None,
    need_x: bool,
    pooled: tuple[torch.Tensor, ...],
    weights: tuple[torch.Tensor, ...],
    grad_w: list[torch.Tensor],
) -> torch.Tensor | None:
    """The backward of one block ``v`` ``[T, b, C, P]``: adds to ``grad_w``, returns the input gradient.

    The input gradient goes into ``gx`` if given; none is computed unless ``need_x``.
    """
    wt1, wt2, wc1, wc2, ws = weights
    sums, peaks, t_sums, t_peaks, st, *rest = pooled
    t_hidden, (c_sums, c_peaks, sc), c_hidden = rest[:3], rest[3:6], rest[6:9]
    a, maps, ss, q_max = rest[9:]
    steps, _, channels, size = v.shape
    mask = torch.empty_like(v)
    a4 = a[..., None]
    z = v * a4
    g = _threshold_backward(gy, z, 0)
    g_ss = torch.mul(g, z, out=mask).sum((0, 2))
    g_pre = _sigmoid_backward(g_ss.view(-1, 1, *maps.shape[2:]), ss.view(-1, 1, *maps.shape[2:]))
    g_maps, g_ws = _conv_backward(g_pre, maps, ws)
    g_maps = g_maps.flatten(2)
    g_z = torch.addcmul(g_maps[None, :, :1].div(steps * channels), g, ss)
    # spatial maximum: over T (r = z.amax(0)), then over C; ties share evenly.
    r = z.amax(0)
    tie_c = torch.eq(r, q_max[:, None], out=torch.empty_like(r))
    g_r = tie_c.mul_(g_maps[:, 1:] / tie_c.sum(1, keepdim=True))
    _add_shared(g_z, z, r[None], g_r[None], 0, mask)
    grad_a = torch.mul(g_z, v, out=mask).sum(3)
    # the small score graph: a = st[:, :, None] * sc.t()
    st3 = st[:, :, None]
    g_sc = (grad_a * st3).sum(0).t()
    g_cs, g_cp, *g_wc = _mlp_backward(g_sc, c_sums, c_peaks, 1 / (steps * size), wc1, wc2, sc, *c_hidden)
    g_cs, c_peaks = g_cs.t(), c_peaks.t()
    tie_t = torch.eq(peaks * st3, c_peaks, out=torch.empty_like(peaks))
    g_mc = tie_t.mul_(g_cp.t() / tie_t.sum(0))
    g_st = torch.addcmul(grad_a * sc.t(), g_cs, sums).addcmul_(g_mc, peaks).sum(2)
    g_ts, g_tp, *g_wt = _mlp_backward(g_st, t_sums, t_peaks, 1 / (channels * size), wt1, wt2, st, *t_hidden)
    _accumulate(grad_w, (*g_wt, *g_wc, g_ws))
    if not need_x:
        return None
    g_sums = torch.addcmul(g_ts[:, :, None], g_cs, st3)
    g_peaks = g_mc.mul_(st3)
    _add_shared(g_peaks, peaks, t_peaks[:, :, None], g_tp[:, :, None], 2, torch.empty_like(peaks))
    gx = torch.addcmul(g_sums[..., None], g_z, a4, out=gx)
    _add_shared(gx, v, peaks[..., None], g_peaks[..., None], 3, mask)
    return gx


class _MultiDimensionalAttention(torch.autograd.Function):
    """Multi-dimensional attention over sample blocks with a hand-written backward.

    Saves the input and each block's small pooled tensors; the backward recomputes each
    block's full-size products in cache.
    """

    @staticmethod
    def forward(ctx: Any, block_elements: int, x: torch.Tensor, *weights: torch.Tensor) -> torch.Tensor:
        out, ctx.blocks, ctx.pooled = _multi_dimensional_forward(x, _flat(weights), block_elements, keep=True)
        ctx.save_for_backward(x, *weights)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, *weights = ctx.saved_tensors
        v = x.flatten(3)
        gy = grad_out.reshape(v.shape)
        need_x = ctx.needs_input_grad[1]
        grad_w = [torch.zeros_like(w) for w in weights]
        flat = _flat(tuple(weights))
        blocks, pooled = ctx.blocks, ctx.pooled
        ctx.pooled = None
        if len(blocks) == 1:
            grad_x = _md_block_backward(v, gy, None, need_x, pooled[0], flat, grad_w)
        else:
            grad_x = torch.empty(v.shape, dtype=x.dtype, device=x.device) if need_x else None
            for block, saved in zip(blocks, pooled):
                gx = None if grad_x is None else grad_x[:, block]
                _md_block_backward(v[:, block], gy[:, block], gx, need_x, saved, flat, grad_w)
        return (None, None if grad_x is None else grad_x.view(x.shape), *grad_w)


def multi_dimensional_attention_blocks(
    x: torch.Tensor,
    wt1: torch.Tensor,
    wt2: torch.Tensor,
    wc1: torch.Tensor,
    wc2: torch.Tensor,
    ws: torch.Tensor,
    block_elements: int = BLOCK_ELEMENTS,
) -> torch.Tensor:
    """Multi-dimensional attention over ``x`` ``[T, N, C, H, W]`` on sample blocks of ``block_elements``."""
    weights = (wt1, wt2, wc1, wc2, ws)
    if torch.is_grad_enabled() and (x.requires_grad or any(w.requires_grad for w in weights)):
        return _MultiDimensionalAttention.apply(block_elements, x, *weights)
    return _multi_dimensional_forward(x, _flat(weights), block_elements, keep=False)[0]


def _twa_block_forward(
    v: torch.Tensor, out: torch.Tensor | None, w1: torch.Tensor, w2: torch.Tensor
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """One block ``v`` ``[T, b, S]`` (into ``out`` if given): the output and the block's pooled tensors."""
    sums, peaks = v.sum(2), v.amax(2)
    score, *hidden = _mlp(sums, peaks, 1 / v.shape[2], w1, w2)
    return torch.mul(v, score[..., None], out=out), (sums, peaks, score, *hidden)


def _temporal_forward(
    x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, block_elements: int, keep: bool
) -> tuple[torch.Tensor, list[slice], list[tuple[torch.Tensor, ...]]]:
    """The output (``x``'s shape), the sample blocks and (if ``keep``) each block's pooled tensors."""
    steps, samples = x.shape[:2]
    v = x.reshape(steps, samples, math.prod(x.shape[2:]))
    blocks = sample_blocks(x, block_elements)
    out, saved = _run_blocks(v, blocks, lambda vb, ob: _twa_block_forward(vb, ob, w1, w2), keep)
    return out.view(x.shape), blocks, saved


def _twa_block_backward(
    v: torch.Tensor,
    gy: torch.Tensor,
    gx: torch.Tensor | None,
    need_x: bool,
    pooled: tuple[torch.Tensor, ...],
    w1: torch.Tensor,
    w2: torch.Tensor,
    grad_w: list[torch.Tensor],
) -> torch.Tensor | None:
    """The backward of one block ``v`` ``[T, b, S]``: adds to ``grad_w``, returns the input gradient (into ``gx``)."""
    sums, peaks, score, *hidden = pooled
    mask = torch.empty_like(v)
    g_score = torch.mul(gy, v, out=mask).sum(2)
    g_sums, g_peaks, *g_w = _mlp_backward(g_score, sums, peaks, 1 / v.shape[2], w1, w2, score, *hidden)
    _accumulate(grad_w, g_w)
    if not need_x:
        return None
    gx = torch.addcmul(g_sums[..., None], gy, score[..., None], out=gx)
    _add_shared(gx, v, peaks[..., None], g_peaks[..., None], 2, mask)
    return gx


class _TemporalWiseAttention(torch.autograd.Function):
    """``x * score`` over sample blocks with a hand-written backward (saves ``x`` and the pooled tensors)."""

    @staticmethod
    def forward(ctx: Any, block_elements: int, x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        out, ctx.blocks, ctx.pooled = _temporal_forward(x, w1.flatten(1), w2.flatten(1), block_elements, keep=True)
        ctx.save_for_backward(x, w1, w2)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w1, w2 = ctx.saved_tensors
        steps, samples = x.shape[:2]
        v = x.reshape(steps, samples, math.prod(x.shape[2:]))
        gy = grad_out.reshape(v.shape)
        need_x = ctx.needs_input_grad[1]
        grad_w = [torch.zeros_like(w1), torch.zeros_like(w2)]
        w1f, w2f = w1.flatten(1), w2.flatten(1)
        blocks, pooled = ctx.blocks, ctx.pooled
        ctx.pooled = None
        if len(blocks) == 1:
            grad_x = _twa_block_backward(v, gy, None, need_x, pooled[0], w1f, w2f, grad_w)
        else:
            grad_x = torch.empty(v.shape, dtype=x.dtype, device=x.device) if need_x else None
            for block, saved in zip(blocks, pooled):
                gx = None if grad_x is None else grad_x[:, block]
                _twa_block_backward(v[:, block], gy[:, block], gx, need_x, saved, w1f, w2f, grad_w)
        return (None, None if grad_x is None else grad_x.view(x.shape), *grad_w)


def _temporal_reference(
    x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, block_elements: int = TEMPORAL_BLOCK_ELEMENTS
) -> torch.Tensor:
    """:func:`~spikelayers_attention.reference.temporal_wise_attention` (no blocks)."""
    return temporal_wise_attention(x, w1, w2)


@reference_under_torch_func(_temporal_reference)
def temporal_wise_attention_fast(
    x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, block_elements: int = TEMPORAL_BLOCK_ELEMENTS
) -> torch.Tensor:
    """Temporal-wise attention over ``x`` ``[T, N, *]``, block by block, with a hand-written backward."""
    if torch.is_grad_enabled() and (x.requires_grad or w1.requires_grad or w2.requires_grad):
        return _TemporalWiseAttention.apply(block_elements, x, w1, w2)
    return _temporal_forward(x, w1.flatten(1), w2.flatten(1), block_elements, keep=False)[0]


@reference_under_torch_func(multi_dimensional_attention)
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
