"""The hooks of the stateless plugin (strings only; nothing heavy is imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikelayers.hookspecs import hookimpl

if TYPE_CHECKING:
    from spikelayers.benchmarks import BenchCase
    from spikelayers.testing import LayerCase

_MODULES = {
    "conv": ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"),
    "pool": (
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
    ),
    "linear": ("Linear",),
    "flatten": ("Flatten",),
    "upsample": ("Upsample",),
    "voting": ("VotingLayer",),
    "unpool": ("MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"),
}

LAYERS: dict[str, str] = {
    name: f"spikelayers_stateless.{module}:{name}" for module, names in _MODULES.items() for name in names
}


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {"layer": dict(LAYERS)}


@hookimpl
def spikelayers_bench_cases() -> list[BenchCase]:
    from .bench import BENCH_CASES

    return list(BENCH_CASES)


@hookimpl
def spikelayers_conformance_cases() -> list[LayerCase]:
    from .cases import conformance_cases

    return conformance_cases()


@hookimpl(specname="spikelayers_bench_cases")
def unpool_bench_cases() -> list[BenchCase]:
    from .unpool_cases import bench_cases

    return bench_cases()


@hookimpl(specname="spikelayers_conformance_cases")
def unpool_conformance_cases() -> list[LayerCase]:
    from .unpool_cases import conformance_cases

    return conformance_cases()
