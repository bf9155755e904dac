"""Benchmark cases of the OTTT plugin (see :class:`spikelayers.benchmarks.BenchCase`).

``OTTTLIFNode`` has no multi-step mode: online training feeds it one step at a time,
so the runner drives it that way; with ``--compare`` it is timed beside another
library's ``OTTTLIFNode`` driven the same way.
"""

from __future__ import annotations

from torch import nn

from spikelayers.benchmarks import BenchCase

SHAPES = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


def _node() -> nn.Module:
    from .node import OTTTLIFNode

    return OTTTLIFNode()


BENCH_CASES: list[BenchCase] = [
    BenchCase(name="OTTTLIFNode", factory=_node, shapes=SHAPES, step_mode="s", reference=False, tags=("ottt",))
]
