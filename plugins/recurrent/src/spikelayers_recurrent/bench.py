"""Benchmark cases of the recurrent containers (see :class:`spikelayers.benchmarks.BenchCase`).

The containers loop over time by design, so multi-step mode is expected to cost what the
loop of single steps costs; the cases keep the sizes small.
"""

from __future__ import annotations

import operator

from torch import nn

from spikelayers.benchmarks import BenchCase


def _element_wise() -> nn.Module:
    from .element_wise import ElementWiseRecurrentContainer

    return ElementWiseRecurrentContainer(nn.Tanh(), operator.add)


def _linear() -> nn.Module:
    from .linear import LinearRecurrentContainer

    return LinearRecurrentContainer(nn.Sequential(nn.Linear(64, 32), nn.Tanh()), 64, 32)


BENCH_CASES = [
    BenchCase(
        name="ElementWiseRecurrentContainer",
        factory=_element_wise,
        shapes={"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)},
        tags=("recurrent", "container"),
    ),
    BenchCase(
        name="LinearRecurrentContainer",
        factory=_linear,
        shapes={"small": (8, 4, 64), "large": (8, 256, 64)},
        tags=("recurrent", "container"),
    ),
]
