"""The hooks of the synapse plugin (strings only; nothing heavy is imported here)."""

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
            "SynapseFilter": "spikelayers_synapse.filter:SynapseFilter",
            "LowPassSynapse": "spikelayers_synapse.filter:LowPassSynapse",
            "Delay": "spikelayers_synapse.delay:Delay",
            "SpikeCountToBinary": "spikelayers_synapse.slots:SpikeCountToBinary",
            "TemporalBinSum": "spikelayers_synapse.slots:TemporalBinSum",
        }
    }


@hookimpl
def spikelayers_kernels() -> list[KernelSpec]:
    from spikelayers.kernels import KernelSpec

    return [
        KernelSpec("synapse.filter", "torch", "spikelayers_synapse.fused:synapse_filter"),
        KernelSpec("synapse.filter", "triton", "spikelayers_synapse.triton_kernel:synapse_filter"),
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
    converters = "spikelayers_synapse.nir_converters"
    return {
        "exporters": {"spikelayers_synapse.delay:Delay": f"{converters}:export_delay"},
        "importers": {"Delay": f"{converters}:import_delay"},
    }


@hookimpl(specname="spikelayers_bench_cases")
def slots_bench_cases() -> list[BenchCase]:
    from .slots_cases import bench_cases

    return bench_cases()


@hookimpl(specname="spikelayers_conformance_cases")
def slots_conformance_cases() -> list[LayerCase]:
    from .slots_cases import conformance_cases

    return conformance_cases()
