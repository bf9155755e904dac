"""Conformance-kit cases and benchmark cases of the BNTT layers.

Each step has its own batch norm and statistics, so multi-step mode equals a loop of
single steps in training as well as in eval mode, and a sequence may come in pieces.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikelayers.benchmarks import BenchCase
from spikelayers.testing import LayerCase

T = 4
BENCH_SIZES: dict[str, tuple[int, ...]] = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


def randomise_steps(layer: nn.Module) -> nn.Module:
    """Draw every step's scale and running statistics of a BNTT ``layer`` (in place) so that
    they differ; returns ``layer``."""
    with torch.no_grad():
        for norm in layer.bn_list:
            if norm.weight is not None:
                norm.weight.uniform_(0.5, 1.5)
            if norm.running_mean is not None:
                norm.running_mean.normal_(0.0, 0.5)
                norm.running_var.uniform_(0.5, 2.0)
    return layer


def _randomised(factory: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    """Wrap ``factory`` so that every step's scale and running statistics differ."""

    def build() -> nn.Module:
        return randomise_steps(factory())

    return build


def conformance_cases() -> list[LayerCase]:
    from .bntt import BatchNormThroughTime1d, BatchNormThroughTime2d, BatchNormThroughTime3d

    configurations = [
        ("BatchNormThroughTime1d", lambda: BatchNormThroughTime1d(T, 3), (5, 3), ("m",)),
        ("BatchNormThroughTime1d-L", lambda: BatchNormThroughTime1d(T, 3), (5, 3, 7), ("s",)),
        ("BatchNormThroughTime2d", lambda: BatchNormThroughTime2d(T, 3), (5, 3, 6, 7), ("s", "m")),
        ("BatchNormThroughTime3d", lambda: BatchNormThroughTime3d(T, 3), (5, 3, 2, 6, 7), ("s", "m")),
        (
            "BatchNormThroughTime2d-cumulative",
            lambda: BatchNormThroughTime2d(T, 3, momentum=None, affine=False),
            (5, 3, 4, 3),
            ("s", "m"),
        ),
    ]
    cases = []
    for name, factory, shape, ranks in configurations:
        for train in (True, False):
            mode = "train" if train else "eval"
            cases.append(
                LayerCase(_randomised(factory), shape, T=T, name=f"{name}-{mode}", train=train, rank_checks=ranks)
            )
    cases.append(
        LayerCase(
            _randomised(lambda: BatchNormThroughTime2d(T, 3)),
            (5, 3, 6, 7),
            T=T,
            name="BatchNormThroughTime2d-compile",
            step_modes=("m",),
            compile=True,
        )
    )
    return cases


def per_step_bntt(T: int, channels: int) -> nn.Module:
    """BNTT whose multi-step mode calls each step's batch norm in turn (the plain transcription)."""
    from .bntt import BatchNormThroughTime2d, batch_norm_through_time_reference

    class PerStepBNTT(BatchNormThroughTime2d):
        def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
            return batch_norm_through_time_reference(x_seq, self.bn_list)

    return PerStepBNTT(T, channels)


def _bntt(T: int, channels: int) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from spikelayers import layer

        return layer.BatchNormThroughTime2d(T, channels)

    return build


def bench_cases() -> list[BenchCase]:
    cases = []
    for size, shape in BENCH_SIZES.items():
        steps, _, channels = shape[:3]
        cases.append(
            BenchCase(
                "BatchNormThroughTime2d",
                _bntt(steps, channels),
                {size: shape},
                reference=True,
                baseline=lambda steps=steps, channels=channels: per_step_bntt(steps, channels),
                args=(steps, channels),
                tags=("norm", size),
            )
        )
    return cases
