"""Benchmark cases of the attention layers (see :class:`spikelayers.benchmarks.BenchCase`).

The layers are multi-step only, so there is no single-step reference; the baseline is
the direct transcription of :mod:`spikelayers_attention.reference`, which stores every
full-size intermediate for autograd.
"""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import MultiStepModule
from spikelayers.benchmarks import BenchCase

SHAPES = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


class DirectTemporalWiseAttention(MultiStepModule, nn.Module):
    """A :class:`~spikelayers_attention.temporal.TemporalWiseAttention` run by the direct transcription."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        from .reference import temporal_wise_attention

        mlp = self.layer.sharedMLP
        return temporal_wise_attention(x_seq, mlp[0].weight, mlp[2].weight)


class DirectMultiDimensionalAttention(MultiStepModule, nn.Module):
    """A :class:`~spikelayers_attention.multi_dimensional.MultiDimensionalAttention` run by the direct transcription."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .reference import multi_dimensional_attention

        layer = self.layer
        return multi_dimensional_attention(x, *layer.ta.weights(), *layer.ca.weights(), layer.sa.conv.weight)


def _temporal() -> nn.Module:
    from .temporal import TemporalWiseAttention

    return TemporalWiseAttention(8, reduction=4)


def _multi_dimensional() -> nn.Module:
    from .multi_dimensional import MultiDimensionalAttention

    return MultiDimensionalAttention(8, 16, reduction_t=4, reduction_c=4)


def _multi_dimensional_large() -> nn.Module:
    from .multi_dimensional import MultiDimensionalAttention

    return MultiDimensionalAttention(8, 64, reduction_t=4, reduction_c=16)


BENCH_CASES = [
    BenchCase(
        name="TemporalWiseAttention",
        factory=_temporal,
        shapes=SHAPES,
        reference=False,
        baseline=lambda: DirectTemporalWiseAttention(_temporal()),
        args=(8,),
        kwargs={"reduction": 4},
        tags=("attention",),
    ),
    BenchCase(
        name="MultiDimensionalAttention",
        factory=_multi_dimensional,
        shapes={"small": SHAPES["small"]},
        reference=False,
        baseline=lambda: DirectMultiDimensionalAttention(_multi_dimensional()),
        args=(8, 16),
        kwargs={"reduction_t": 4, "reduction_c": 4},
        tags=("attention",),
    ),
    BenchCase(
        name="MultiDimensionalAttention C=64",
        factory=_multi_dimensional_large,
        shapes={"large": SHAPES["large"]},
        reference=False,
        baseline=lambda: DirectMultiDimensionalAttention(_multi_dimensional_large()),
        args=(8, 64),
        kwargs={"reduction_t": 4, "reduction_c": 16},
        tags=("attention",),
    ),
]
