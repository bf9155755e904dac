"""The hooks of the norm plugin (strings only; nothing heavy is imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikelayers.hookspecs import hookimpl

if TYPE_CHECKING:
    from spikelayers.benchmarks import BenchCase
    from spikelayers.kernels import KernelSpec
    from spikelayers.testing import LayerCase

_LAYERS = {
    "BatchNorm1d": "batchnorm",
    "BatchNorm2d": "batchnorm",
    "BatchNorm3d": "batchnorm",
    "GroupNorm": "batchnorm",
    "NeuNorm": "neunorm",
    "ThresholdDependentBatchNorm1d": "tdbn",
    "ThresholdDependentBatchNorm2d": "tdbn",
    "ThresholdDependentBatchNorm3d": "tdbn",
    "TemporalEffectiveBatchNormNd": "tebn",
    "TemporalEffectiveBatchNorm1d": "tebn",
    "TemporalEffectiveBatchNorm2d": "tebn",
    "TemporalEffectiveBatchNorm3d": "tebn",
    "BatchNormThroughTime1d": "bntt",
    "BatchNormThroughTime2d": "bntt",
    "BatchNormThroughTime3d": "bntt",
}


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {"layer": {name: f"spikelayers_norm.{module}:{name}" for name, module in _LAYERS.items()}}


@hookimpl
def spikelayers_kernels() -> list[KernelSpec]:
    from spikelayers.kernels import KernelSpec

    return [
        KernelSpec("norm.neunorm", "torch", "spikelayers_norm.neunorm:neunorm_multi_step"),
        KernelSpec("norm.neunorm", "triton", "spikelayers_norm.triton_kernel:neunorm_multi_step"),
    ]


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
    export = "spikelayers_norm.nir_converters:export_batch_norm"
    return {
        "exporters": {
            "spikelayers_norm.batchnorm:BatchNorm1d": export,
            "spikelayers_norm.batchnorm:BatchNorm2d": export,
        }
    }


@hookimpl(specname="spikelayers_bench_cases")
def bntt_bench_cases() -> list[BenchCase]:
    from .bntt_cases import bench_cases

    return bench_cases()


@hookimpl(specname="spikelayers_conformance_cases")
def bntt_conformance_cases() -> list[LayerCase]:
    from .bntt_cases import conformance_cases

    return conformance_cases()
