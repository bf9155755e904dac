"""The hooks of the OTTT plugin (strings only; nothing heavy is imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikelayers.hookspecs import hookimpl

if TYPE_CHECKING:
    from spikelayers.benchmarks import BenchCase
    from spikelayers.testing import LayerCase


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {
        "layer": {
            "ReplaceforGrad": "spikelayers_ottt.replace_grad:ReplaceforGrad",
            "GradwithTrace": "spikelayers_ottt.trace_ops:GradwithTrace",
            "SpikeTraceOp": "spikelayers_ottt.trace_ops:SpikeTraceOp",
            "OTTTSequential": "spikelayers_ottt.sequential:OTTTSequential",
        },
        "neuron": {"OTTTLIFNode": "spikelayers_ottt.node:OTTTLIFNode"},
    }


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
    return {"exporters": {"spikelayers_ottt.node:OTTTLIFNode": "spikelayers_ottt.nir_converters:export_ottt_lif"}}
