"""Conformance-kit cases for the recurrent containers (built lazily by the plugin hook).

The sub-modules here are plain torch layers, so the cases need no other plugin; the
containers' own memory ``y`` is what the kit exercises.
"""

from __future__ import annotations

import operator

from torch import nn

from spikelayers.testing import LayerCase


def conformance_cases() -> list[LayerCase]:
    """ElementWise (any input rank is valid, so no rank checks) and Linear containers."""
    from .element_wise import ElementWiseRecurrentContainer
    from .linear import LinearRecurrentContainer

    return [
        LayerCase(
            lambda: ElementWiseRecurrentContainer(nn.Tanh(), operator.sub),
            input_shape=(3, 5),
            T=5,
            name="ElementWiseRecurrentContainer",
            rank_checks=(),
        ),
        LayerCase(
            lambda: LinearRecurrentContainer(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), 4, 3),
            input_shape=(2, 4),
            T=5,
            name="LinearRecurrentContainer",
            rank_checks=("m",),
        ),
    ]
