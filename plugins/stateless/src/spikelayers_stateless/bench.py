"""Benchmark cases of the stateless layers (see :class:`spikelayers.benchmarks.BenchCase`).

Multi-step mode folds ``T`` into the batch, so the interesting ratio is one call on
``[T * N, *]`` against the loop of ``T`` single-step calls the runner times as reference.
"""

from __future__ import annotations

from torch import nn

from spikelayers.benchmarks import BenchCase, spikes


def _conv2d() -> nn.Module:
    from .conv import Conv2d

    return Conv2d(16, 16, 3, padding=1, bias=False)


def _max_pool2d() -> nn.Module:
    from .pool import MaxPool2d

    return MaxPool2d(2)


def _linear() -> nn.Module:
    from .linear import Linear

    return Linear(256, 128)


BENCH_CASES = [
    BenchCase(
        name="Conv2d",
        factory=_conv2d,
        shapes={"small": (8, 4, 16, 8, 8), "large": (8, 32, 16, 32, 32)},
        input_fn=spikes,
        args=(16, 16, 3),
        kwargs={"padding": 1, "bias": False},
        tags=("stateless", "conv"),
    ),
    BenchCase(
        name="MaxPool2d",
        factory=_max_pool2d,
        shapes={"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)},
        input_fn=spikes,
        args=(2,),
        tags=("stateless", "pool"),
    ),
    BenchCase(
        name="Linear",
        factory=_linear,
        shapes={"small": (8, 4, 256), "large": (8, 256, 256)},
        input_fn=spikes,
        args=(256, 128),
        tags=("stateless", "linear"),
    ),
]
