"""Conformance-kit cases of the time-last containers.

The kit feeds ``[T, N, *]`` sequences; to a time-last container its first dimension is
the batch and its last one time, so the kit's checks (chunks along the first dimension,
reset, copies, gradients) hold for containers of stateless children.
"""

from __future__ import annotations

from torch import nn

from .testing import LayerCase


def conformance_cases() -> list[LayerCase]:
    from .tlast import TLastMultiStepContainer, TLastSeqToANNContainer

    return [
        LayerCase(
            lambda: TLastMultiStepContainer(nn.Linear(3, 4), nn.Tanh()),
            (3, 5),
            name="TLastMultiStepContainer",
            rank_checks=(),
        ),
        LayerCase(
            lambda: TLastSeqToANNContainer(nn.Linear(3, 4), nn.Tanh()),
            (3, 5),
            name="TLastSeqToANNContainer",
            rank_checks=(),
            compile=True,
        ),
    ]
