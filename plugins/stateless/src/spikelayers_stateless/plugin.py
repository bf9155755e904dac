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


@hookimpl
def spikelayers_nir_converters() -> dict[str, dict[str, str]]:
    converters = "spikelayers_stateless.nir_converters"
    exported = {
        "conv:Conv1d": "export_conv1d",
        "conv:Conv2d": "export_conv2d",
        "linear:Linear": "export_linear",
        "pool:AvgPool2d": "export_avg_pool_2d",
        "pool:AdaptiveAvgPool2d": "export_adaptive_avg_pool_2d",
        "pool:MaxPool2d": "export_max_pool_2d",
        "flatten:Flatten": "export_flatten",
        "voting:VotingLayer": "export_voting",
    }
    imported = {
        "Affine": "import_affine",
        "Linear": "import_linear",
        "Conv1d": "import_conv1d",
        "Conv2d": "import_conv2d",
        "AvgPool2d": "import_avg_pool_2d",
        "Flatten": "import_flatten",
    }
    return {
        "exporters": {f"spikelayers_stateless.{cls}": f"{converters}:{fn}" for cls, fn in exported.items()},
        "importers": {node: f"{converters}:{fn}" for node, fn in imported.items()},
    }


@hookimpl(specname="spikelayers_bench_cases")
def unpool_bench_cases() -> list[BenchCase]:
    from .unpool_cases import bench_cases

    return bench_cases()


@hookimpl(specname="spikelayers_conformance_cases")
def unpool_conformance_cases() -> list[LayerCase]:
    from .unpool_cases import conformance_cases

    return conformance_cases()
