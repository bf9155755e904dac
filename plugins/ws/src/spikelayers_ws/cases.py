"""Conformance-kit cases of the weight-standardised layers (built lazily by the plugin hook)."""

from __future__ import annotations

from spikelayers.testing import LayerCase


def conformance_cases() -> list[LayerCase]:
    """Both classes with and without gain, in every step mode."""
    from .conv import WSConv2d
    from .linear import WSLinear

    return [
        LayerCase(
            lambda: WSConv2d(2, 3, 3, padding=1, padding_mode="replicate"), (2, 2, 4, 4), name="WSConv2d", compile=True
        ),
        LayerCase(
            lambda: WSConv2d(4, 4, 2, stride=2, groups=2, bias=False, gain=False), (2, 4, 4, 4), name="WSConv2d-nogain"
        ),
        LayerCase(lambda: WSLinear(5, 3), (2, 5), name="WSLinear", rank_checks=("m",)),
        LayerCase(lambda: WSLinear(5, 3, gain=False, eps=1e-3), (2, 3, 5), name="WSLinear-nogain", rank_checks=()),
    ]
