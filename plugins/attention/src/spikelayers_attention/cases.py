"""Conformance-kit cases for the attention layers (multi-step only; ``T`` is fixed, so not chunkable)."""

from __future__ import annotations

from spikelayers.testing import LayerCase


def conformance_cases() -> list[LayerCase]:
    from .multi_dimensional import MultiDimensionalAttention
    from .temporal import TemporalWiseAttention

    return [
        LayerCase(lambda: TemporalWiseAttention(4, reduction=2), input_shape=(3, 5, 4, 3), T=4, chunkable=False),
        LayerCase(
            lambda: TemporalWiseAttention(5, reduction=2, dimension=2),
            input_shape=(3, 7),
            T=5,
            chunkable=False,
            name="TemporalWiseAttention-2d",
        ),
        LayerCase(
            lambda: MultiDimensionalAttention(4, 6, reduction_t=2, reduction_c=3),
            input_shape=(2, 6, 5, 4),
            T=4,
            chunkable=False,
        ),
        LayerCase(
            lambda: MultiDimensionalAttention(3, 4, reduction_t=1, reduction_c=2, kernel_size=7),
            input_shape=(2, 4, 7, 9),
            T=3,
            chunkable=False,
            name="MultiDimensionalAttention-k7",
        ),
    ]
