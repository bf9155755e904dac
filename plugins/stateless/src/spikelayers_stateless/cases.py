"""Conformance-kit cases of every stateless layer (built lazily by the plugin hook).

Shapes are tiny; each case lists the step modes in which an input of the wrong rank is
detectable (a Linear or Flatten input without ``T`` is still a valid sequence).
"""

from __future__ import annotations

from spikelayers.testing import LayerCase


def conformance_cases() -> list[LayerCase]:
    """One or two configurations per class, in every step mode."""
    from . import conv, flatten, linear, pool, upsample, voting

    return [
        LayerCase(lambda: conv.Conv1d(2, 3, 3, padding=1), (2, 2, 5), name="Conv1d"),
        LayerCase(
            lambda: conv.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="reflect"),
            (2, 2, 5, 5),
            name="Conv2d",
        ),
        LayerCase(lambda: conv.Conv3d(2, 2, 2, groups=2), (1, 2, 3, 3, 3), name="Conv3d"),
        LayerCase(lambda: conv.ConvTranspose1d(2, 3, 3, stride=2), (2, 2, 4), name="ConvTranspose1d"),
        LayerCase(
            lambda: conv.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1), (2, 2, 3, 3), name="ConvTranspose2d"
        ),
        LayerCase(lambda: conv.ConvTranspose3d(2, 2, 2, stride=2), (1, 2, 2, 2, 2), name="ConvTranspose3d"),
        LayerCase(lambda: pool.MaxPool1d(2), (2, 3, 6), name="MaxPool1d"),
        LayerCase(lambda: pool.MaxPool2d(2, return_indices=True), (2, 3, 4, 4), name="MaxPool2d-indices"),
        LayerCase(lambda: pool.MaxPool3d(2, stride=1), (1, 2, 3, 3, 3), name="MaxPool3d"),
        LayerCase(lambda: pool.AvgPool1d(3, stride=2, padding=1), (2, 3, 6), name="AvgPool1d"),
        LayerCase(lambda: pool.AvgPool2d(2, divisor_override=3), (2, 3, 4, 4), name="AvgPool2d"),
        LayerCase(lambda: pool.AvgPool3d(2, ceil_mode=True), (1, 2, 3, 3, 3), name="AvgPool3d"),
        LayerCase(lambda: pool.AdaptiveAvgPool1d(3), (2, 3, 7), name="AdaptiveAvgPool1d"),
        LayerCase(lambda: pool.AdaptiveAvgPool2d((2, None)), (2, 3, 5, 4), name="AdaptiveAvgPool2d"),
        LayerCase(lambda: pool.AdaptiveAvgPool3d(2), (1, 2, 3, 4, 5), name="AdaptiveAvgPool3d"),
        LayerCase(lambda: linear.Linear(4, 3), (2, 4), name="Linear", rank_checks=("m",)),
        LayerCase(lambda: linear.Linear(4, 3, bias=False), (2, 5, 4), name="Linear-3d", rank_checks=()),
        LayerCase(lambda: flatten.Flatten(), (2, 3, 2, 2), name="Flatten", rank_checks=()),
        LayerCase(lambda: flatten.Flatten(0, 2), (2, 3, 2, 2), name="Flatten-from-0", rank_checks=()),
        LayerCase(lambda: upsample.Upsample(scale_factor=2, mode="bilinear"), (2, 2, 3, 3), name="Upsample"),
        LayerCase(lambda: upsample.Upsample(size=5), (2, 2, 3), name="Upsample-nearest", rank_checks=()),
        LayerCase(lambda: voting.VotingLayer(3), (2, 9), name="VotingLayer", rank_checks=()),
    ]
