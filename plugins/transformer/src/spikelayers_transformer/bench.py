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
    """SDSA with separate Q, K, V projections and the per-step, per-head key-value summary."""

    key_value = staticmethod(reference.sdsa_kv_reference)
    projections = staticmethod(reference.sdsa_qkv_reference)


def _build(cls: type[nn.Module], dim: int, **kwargs: object) -> Callable[[], nn.Module]:
    return lambda: cls(dim, HEADS, **kwargs)


def _case(
    name: str,
    block: type[nn.Module],
    baseline: type[nn.Module],
    size: str,
    shapes: dict,
    input_fn: Callable,
    **kwargs: object,
) -> BenchCase:
    """A case of ``block(dim, HEADS, **kwargs)`` against ``baseline`` on ``shapes[size]`` (``dim`` its third size)."""
    dim = shapes[size][2]
    return BenchCase(
        name,
        _build(block, dim, **kwargs),
        {size: shapes[size]},
        input_fn=input_fn,
        reference=False,
        baseline=_build(baseline, dim, **kwargs),
        backends=("inductor",),  # the neurons on compiled CPU kernels
        args=(dim, HEADS),
        tags=("transformer", size),
    )


def _cases() -> list[BenchCase]:
    cases = []
    for size in ("small", "large"):
        cases += [
            _case(
                "SpikingSelfAttention", SpikingSelfAttention, ReferenceSpikingSelfAttention, size, TOKEN_SHAPES, spikes
            ),
            _case("TokenQKAttention", QKAttention, ReferenceQKAttention, size, TOKEN_SHAPES, spikes, qka_type="token"),
            _case(
                "ChannelQKAttention", QKAttention, ReferenceQKAttention, size, TOKEN_SHAPES, spikes, qka_type="channel"
            ),
            _case(
                "SpikeDrivenSelfAttention",
                SpikeDrivenSelfAttention,
                ReferenceSpikeDrivenSelfAttention,
                size,
                IMAGE_SHAPES,
                gaussian,
            ),
        ]
    return cases


BENCH_CASES: list[BenchCase] = _cases()
