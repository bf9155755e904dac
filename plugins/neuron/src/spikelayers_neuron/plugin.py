"""The hooks of the neuron plugin (strings only; nothing heavy is imported here)."""

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
        "neuron": {name: f"spikelayers_neuron.node:{name}" for name in ("IFNode", "LIFNode", "ParametricLIFNode")},
        "surrogate": {
            name: f"spikelayers_neuron.surrogate:{name}"
            for name in ("SurrogateFunctionBase", "Sigmoid", "ATan", "PiecewiseQuadratic")
        },
    }


@hookimpl
def spikelayers_kernels() -> list[KernelSpec]:
    from spikelayers.kernels import KernelSpec

    return [
        KernelSpec("neuron.multi_step", "torch", "spikelayers_neuron.fused:neuron_multi_step"),
        KernelSpec(
            "neuron.multi_step",
            "triton",
            "spikelayers_neuron.triton_kernel:neuron_multi_step_triton",
            supports="spikelayers_neuron.triton_kernel:unsupported_reason",
        ),
    ]


@hookimpl
def spikelayers_bench_cases() -> list[BenchCase]:
    from .bench import BENCH_CASES

    return list(BENCH_CASES)


@hookimpl
def spikelayers_conformance_cases() -> list[LayerCase]:
    from .cases import conformance_cases

    return conformance_cases()
