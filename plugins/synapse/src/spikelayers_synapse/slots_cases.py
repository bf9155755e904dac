"""Conformance-kit and benchmark cases of SpikeCountToBinary and TemporalBinSum."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikelayers.base import MultiStepModule
from spikelayers.benchmarks import BenchCase
from spikelayers.testing import LayerCase

SLOTS = 3
BENCH_SIZES: dict[str, tuple[int, ...]] = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


def counts_input(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Integer-valued counts in ``[0, SLOTS]``."""
    return torch.randint(0, SLOTS + 1, shape, generator=generator).to(dtype)


def conformance_cases() -> list[LayerCase]:
    from .slots import SpikeCountToBinary, TemporalBinSum

    return [
        LayerCase(
            lambda: SpikeCountToBinary(SLOTS, always_convert=True),
            (2, 5),
            name="SpikeCountToBinary",
            input_fn=counts_input,
            rank_checks=(),
        ),
        LayerCase(
            lambda: SpikeCountToBinary(SLOTS),
            (4,),
            name="SpikeCountToBinary-eval",
            input_fn=counts_input,
            train=False,
        ),
        LayerCase(lambda: TemporalBinSum(2, always_convert=True), (2, 5), name="TemporalBinSum", rank_checks=()),
        LayerCase(lambda: TemporalBinSum(3), (4,), T=6, name="TemporalBinSum-eval", train=False),
    ]


def _bench_input(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.randint(0, SLOTS + 1, shape, device=device).to(dtype)


class ReferenceSlots(MultiStepModule, nn.Module):
    """A slot layer run by its readable per-step definition (the benchmark baseline)."""

    def __init__(self, function: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.function(x_seq, SLOTS)


def _layer(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from spikelayers import layer

        return getattr(layer, name)(SLOTS, always_convert=True)

    return build


def _reference(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from . import slots

        function = {"SpikeCountToBinary": slots.count_to_slots_reference, "TemporalBinSum": slots.bin_sum_reference}
        return ReferenceSlots(function[name])

    return build


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase(
            name,
            _layer(name),
            BENCH_SIZES,
            input_fn=_bench_input,
            reference=False,
            baseline=_reference(name),
            args=(SLOTS,),
            kwargs={"always_convert": True},
            tags=("synapse",),
        )
        for name in ("SpikeCountToBinary", "TemporalBinSum")
    ]
