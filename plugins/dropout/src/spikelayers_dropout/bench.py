"""Benchmark cases of the dropout layers (see :class:`spikelayers.benchmarks.BenchCase`).

Dropout's multi-step path is one multiply with the broadcast mask; the single-step loop
of the runner is its straightforward counterpart.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from spikelayers.benchmarks import BenchCase, spikes

SHAPES = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


def _builder(name: str, p: float) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from . import dropout

        return getattr(dropout, name)(p)

    return build


BENCH_CASES: list[BenchCase] = [
    BenchCase(
        name=name,
        factory=_builder(name, p),
        shapes=SHAPES,
        input_fn=spikes,
        backends=("triton",),
        args=(p,),
    )
    for name, p in (("Dropout", 0.5), ("Dropout2d", 0.2))
]
