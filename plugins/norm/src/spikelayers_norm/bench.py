"""Benchmark cases of the norm plugin.

Each layer size has its own case because the constructors take the channel count
(and NeuNorm the spatial size). Baselines are the straightforward transcriptions that
the fused multi-step paths replace.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikelayers.benchmarks import BenchCase, gaussian, spikes

SIZES: dict[str, tuple[int, ...]] = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


def neunorm_step_loop(channels: int, height: int, width: int) -> nn.Module:
    """NeuNorm whose multi-step mode is a loop of single steps (the plain transcription)."""
    from spikelayers.base import MemoryModule

    from .neunorm import NeuNorm

    class NeuNormStepLoop(NeuNorm):
        multi_step_forward = MemoryModule.multi_step_forward

    return NeuNormStepLoop(channels, height, width)


def tebn_separate_scale(T: int, channels: int) -> nn.Module:
    """TEBN computed as BatchNorm over ``T`` and ``N`` followed by a separate scaling pass."""
    from .tebn import TemporalEffectiveBatchNorm2d
    from .tebn_fused import tebn_reference

    class TEBNSeparateScale(TemporalEffectiveBatchNorm2d):
        def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
            return tebn_reference(self.bn, self.scale, x_seq)

    return TEBNSeparateScale(T, channels)


def _layer(name: str, *args: object) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from spikelayers import layer

        return getattr(layer, name)(*args)

    return build


def _cases() -> list[BenchCase]:
    cases = []
    for size, shape in SIZES.items():
        T, _, C, H, W = shape
        sizes = {size: shape}
        cases += [
            BenchCase(
                "NeuNorm",
                _layer("NeuNorm", C, H, W),
                sizes,
                input_fn=spikes,
                baseline=lambda C=C, H=H, W=W: neunorm_step_loop(C, H, W),
                backends=("triton",),
                args=(C, H, W),
                tags=("norm", size),
            ),
            BenchCase(
                "TemporalEffectiveBatchNorm2d",
                _layer("TemporalEffectiveBatchNorm2d", T, C),
                sizes,
                reference=False,
                baseline=lambda T=T, C=C: tebn_separate_scale(T, C),
                args=(T, C),
                tags=("norm", size),
            ),
            BenchCase("BatchNorm2d", _layer("BatchNorm2d", C), sizes, reference=False, args=(C,), tags=("norm", size)),
            BenchCase(
                "ThresholdDependentBatchNorm2d",
                _layer("ThresholdDependentBatchNorm2d", 1.0, 1.0, C),
                sizes,
                input_fn=gaussian,
                reference=False,
                args=(1.0, 1.0, C),
                tags=("norm", size),
            ),
        ]
    return cases


BENCH_CASES: list[BenchCase] = _cases()
