"""Benchmark cases of the weight-standardised layers (see :class:`spikelayers.benchmarks.BenchCase`).

``WSConv2d`` in multi-step mode standardises its kernel once and convolves the folded
sequence in one call. The runner's reference loops over single steps (standardising the
kernel every step); the baseline is a plain :class:`torch.nn.Conv2d` on the same folded
input, the cost the standardisation adds to.
"""

from __future__ import annotations

from torch import nn

from spikelayers.benchmarks import BenchCase, spikes

CHANNELS = 64


def _ws_conv2d() -> nn.Module:
    from .conv import WSConv2d

    return WSConv2d(CHANNELS, CHANNELS, 3, padding=1)


def _plain_conv2d_folded() -> nn.Module:
    from spikelayers.containers import SeqToANNContainer

    return SeqToANNContainer(nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1))


def _ws_linear() -> nn.Module:
    from .linear import WSLinear

    return WSLinear(256, 256)


BENCH_CASES = [
    BenchCase(
        name="WSConv2d",
        factory=_ws_conv2d,
        shapes={"small": (8, 4, CHANNELS, 8, 8), "large": (8, 32, CHANNELS, 32, 32)},
        input_fn=spikes,
        baseline=_plain_conv2d_folded,
        args=(CHANNELS, CHANNELS, 3),
        kwargs={"padding": 1},
        tags=("ws", "conv"),
    ),
    BenchCase(
        name="WSLinear",
        factory=_ws_linear,
        shapes={"small": (8, 4, 256), "large": (8, 256, 256)},
        input_fn=spikes,
        args=(256, 256),
        tags=("ws", "linear"),
    ),
]
