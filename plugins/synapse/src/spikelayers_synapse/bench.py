"""Benchmark cases of the synapse layers (see :class:`spikelayers.benchmarks.BenchCase`).

The baseline of the filter cases is the per-step autograd loop of the readable
reference, which the fused multi-step function replaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.benchmarks import BenchCase, spikes

# "gpu": T=16 over 4M neurons, the size at which GPU kernels are judged (``--sizes gpu``).
SHAPES = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32), "gpu": (16, 4096, 1024)}


class ReferenceSynapseFilter(MemoryModule):
    """Multi-step :func:`~spikelayers_synapse.reference.reference_synapse_filter` of a
    built ``SynapseFilter`` ``[T, N, *] -> [T, N, *]`` (the benchmark baseline)."""

    step_modes = ("m",)

    def __init__(self, synapse: nn.Module) -> None:
        super().__init__()
        self.synapse = synapse
        self.step_mode = "m"

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        from .reference import reference_synapse_filter

        return reference_synapse_filter(x_seq, torch.zeros_like(x_seq[0]), self.synapse.decay())


def _filter(**kwargs: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from .filter import SynapseFilter

        return SynapseFilter(**kwargs)

    return build


def _baseline(**kwargs: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        return ReferenceSynapseFilter(_filter(**kwargs)())

    return build


def _delay(delay_steps: int) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from .delay import Delay

        return Delay(delay_steps)

    return build


BENCH_CASES: list[BenchCase] = [
    BenchCase(
        name="SynapseFilter",
        factory=_filter(tau=5.0),
        shapes=SHAPES,
        input_fn=spikes,
        baseline=_baseline(tau=5.0),
        backends=("triton",),
        kwargs={"tau": 5.0},
        tags=("synapse",),
    ),
    BenchCase(
        name="SynapseFilter learnable",
        factory=_filter(tau=5.0, learnable=True),
        shapes=SHAPES,
        input_fn=spikes,
        baseline=_baseline(tau=5.0, learnable=True),
        backends=("triton",),
        kwargs={"tau": 5.0, "learnable": True},
        tags=("synapse", "learnable"),
    ),
    BenchCase(
        name="Delay",
        factory=_delay(2),
        shapes=SHAPES,
        args=(2,),
        tags=("synapse",),
    ),
]
