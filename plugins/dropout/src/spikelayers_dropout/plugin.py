"""The hooks of the dropout plugin (strings only; nothing heavy is imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikelayers.hookspecs import hookimpl

if TYPE_CHECKING:
    from spikelayers.benchmarks import BenchCase
    from spikelayers.kernels import KernelSpec
    from spikelayers.testing import LayerCase


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {
        "layer": {
            "Dropout": "spikelayers_dropout.dropout:Dropout",
            "Dropout2d": "spikelayers_dropout.dropout:Dropout2d",
            "DropConnectLinear": "spikelayers_dropout.dropconnect:DropConnectLinear",
        }
    }


@hookimpl
def spikelayers_kernels() -> list[KernelSpec]:
    from spikelayers.kernels import KernelSpec

    return [
        KernelSpec("dropout.seeded", "torch", "spikelayers_dropout.seeded_reference:seeded_dropout_reference"),
        KernelSpec("dropout.seeded", "triton", "spikelayers_dropout.triton_kernel:seeded_dropout"),
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
    export = "spikelayers_dropout.nir_converters:export_dropout"
    return {
        "exporters": {
            "spikelayers_dropout.dropout:Dropout": export,
            "spikelayers_dropout.dropout:Dropout2d": export,
        }
    }
