"""Benchmark cases of the attention blocks (see :class:`spikelayers.benchmarks.BenchCase`).

The blocks are multi-step only, so there is no loop-of-steps reference; the baseline is
the same block whose attention core is the readable per-step, per-head definition of
:mod:`spikelayers_transformer.reference`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from spikelayers.benchmarks import BenchCase, gaussian, spikes

from . import reference
from .qk import QKAttention
from .sdsa import SpikeDrivenSelfAttention
from .ssa import SpikingSelfAttention

TOKEN_SHAPES = {"small": (4, 4, 64, 64), "large": (4, 32, 256, 196)}
IMAGE_SHAPES = {"small": (4, 4, 64, 8, 8), "large": (4, 32, 256, 14, 14)}
HEADS = 8


class ReferenceSpikingSelfAttention(SpikingSelfAttention):
    """SSA with the per-step, per-head attention core."""

    scores = staticmethod(reference.ssa_scores_reference)


class ReferenceQKAttention(QKAttention):
    """Q-K attention with the per-step, per-head summary."""

    summary = staticmethod(reference.qk_summary_reference)


class ReferenceSpikeDrivenSelfAttention(SpikeDrivenSelfAttention):
    """SDSA with the per-step, per-head key-value summary."""

    key_value = staticmethod(reference.sdsa_kv_reference)


def _build(cls: type[nn.Module], dim: int, **kwargs: object) -> Callable[[], nn.Module]:
    return lambda: cls(dim, HEADS, **kwargs)


def _cases() -> list[BenchCase]:
    cases = []
    for size in ("small", "large"):
        dim = TOKEN_SHAPES[size][2]
        token = {size: TOKEN_SHAPES[size]}
        cases += [
            BenchCase(
                "SpikingSelfAttention",
                _build(SpikingSelfAttention, dim),
                token,
                input_fn=spikes,
                reference=False,
                baseline=_build(ReferenceSpikingSelfAttention, dim),
                args=(dim, HEADS),
                tags=("transformer", size),
            ),
            BenchCase(
                "TokenQKAttention",
                _build(QKAttention, dim, qka_type="token"),
                token,
                input_fn=spikes,
                reference=False,
                baseline=_build(ReferenceQKAttention, dim, qka_type="token"),
                args=(dim, HEADS),
                tags=("transformer", size),
            ),
            BenchCase(
                "ChannelQKAttention",
                _build(QKAttention, dim, qka_type="channel"),
                token,
                input_fn=spikes,
                reference=False,
                baseline=_build(ReferenceQKAttention, dim, qka_type="channel"),
                args=(dim, HEADS),
                tags=("transformer", size),
            ),
            BenchCase(
                "SpikeDrivenSelfAttention",
                _build(SpikeDrivenSelfAttention, IMAGE_SHAPES[size][2]),
                {size: IMAGE_SHAPES[size]},
                input_fn=gaussian,
                reference=False,
                baseline=_build(ReferenceSpikeDrivenSelfAttention, IMAGE_SHAPES[size][2]),
                args=(IMAGE_SHAPES[size][2], HEADS),
                tags=("transformer", size),
            ),
        ]
    return cases


BENCH_CASES: list[BenchCase] = _cases()
