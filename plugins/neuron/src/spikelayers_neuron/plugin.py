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
        "neuron": {
            "SimpleBaseNode": "spikelayers_neuron.base:SimpleBaseNode",
            "BaseNode": "spikelayers_neuron.base:BaseNode",
            "AdaptBaseNode": "spikelayers_neuron.base:AdaptBaseNode",
            "IFNode": "spikelayers_neuron.node:IFNode",
            "LIFNode": "spikelayers_neuron.node:LIFNode",
            "ParametricLIFNode": "spikelayers_neuron.node:ParametricLIFNode",
            "QIFNode": "spikelayers_neuron.nonlinear:QIFNode",
            "EIFNode": "spikelayers_neuron.nonlinear:EIFNode",
            "IzhikevichNode": "spikelayers_neuron.nonlinear:IzhikevichNode",
            "LIAFNode": "spikelayers_neuron.lif_variants:LIAFNode",
            "KLIFNode": "spikelayers_neuron.lif_variants:KLIFNode",
            "SLTTLIFNode": "spikelayers_neuron.lif_variants:SLTTLIFNode",
            "PSN": "spikelayers_neuron.psn:PSN",
            "MaskedPSN": "spikelayers_neuron.psn:MaskedPSN",
            "SlidingPSN": "spikelayers_neuron.psn:SlidingPSN",
            "GatedLIFNode": "spikelayers_neuron.gated:GatedLIFNode",
            "DSRIFNode": "spikelayers_neuron.dsr:DSRIFNode",
            "DSRLIFNode": "spikelayers_neuron.dsr:DSRLIFNode",
        },
        "surrogate": {
            "heaviside": "spikelayers_neuron.surrogate:heaviside",
            "SurrogateFunctionBase": "spikelayers_neuron.surrogate:SurrogateFunctionBase",
            "MultiArgsSurrogateFunctionBase": "spikelayers_neuron.surrogate:MultiArgsSurrogateFunctionBase",
            "PiecewiseQuadratic": "spikelayers_neuron.surrogate:PiecewiseQuadratic",
            "PiecewiseExp": "spikelayers_neuron.surrogate:PiecewiseExp",
            "Sigmoid": "spikelayers_neuron.surrogate:Sigmoid",
            "SoftSign": "spikelayers_neuron.surrogate:SoftSign",
            "ATan": "spikelayers_neuron.surrogate:ATan",
            "NonzeroSignLogAbs": "spikelayers_neuron.surrogate:NonzeroSignLogAbs",
            "Erf": "spikelayers_neuron.surrogate:Erf",
            "PiecewiseLeakyReLU": "spikelayers_neuron.surrogate:PiecewiseLeakyReLU",
            "SquarewaveFourierSeries": "spikelayers_neuron.surrogate:SquarewaveFourierSeries",
            "S2NN": "spikelayers_neuron.surrogate:S2NN",
            "QPseudoSpike": "spikelayers_neuron.surrogate:QPseudoSpike",
            "LeakyKReLU": "spikelayers_neuron.surrogate:LeakyKReLU",
            "FakeNumericalGradient": "spikelayers_neuron.surrogate:FakeNumericalGradient",
            "LogTailedReLU": "spikelayers_neuron.surrogate:LogTailedReLU",
            "piecewise_quadratic": "spikelayers_neuron.surrogate:piecewise_quadratic",
            "piecewise_exp": "spikelayers_neuron.surrogate:piecewise_exp",
            "sigmoid": "spikelayers_neuron.surrogate:sigmoid",
            "soft_sign": "spikelayers_neuron.surrogate:soft_sign",
            "atan": "spikelayers_neuron.surrogate:atan",
            "nonzero_sign_log_abs": "spikelayers_neuron.surrogate:nonzero_sign_log_abs",
            "erf": "spikelayers_neuron.surrogate:erf",
            "piecewise_leaky_relu": "spikelayers_neuron.surrogate:piecewise_leaky_relu",
            "squarewave_fourier_series": "spikelayers_neuron.surrogate:squarewave_fourier_series",
            "s2nn": "spikelayers_neuron.surrogate:s2nn",
            "q_pseudo_spike": "spikelayers_neuron.surrogate:q_pseudo_spike",
            "leaky_k_relu": "spikelayers_neuron.surrogate:leaky_k_relu",
            "fake_numerical_gradient": "spikelayers_neuron.surrogate:fake_numerical_gradient",
            "log_tailed_relu": "spikelayers_neuron.surrogate:log_tailed_relu",
            "check_manual_grad": "spikelayers_neuron.surrogate:check_manual_grad",
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
        KernelSpec(
            "neuron.multi_step",
            "inductor",
            "spikelayers_neuron.inductor_kernel:neuron_multi_step_inductor",
            supports="spikelayers_neuron.inductor_kernel:unsupported_reason",
        ),
        KernelSpec("neuron.cell_multi_step", "torch", "spikelayers_neuron.fused_cells:cell_multi_step"),
        KernelSpec("neuron.cell_multi_step", "triton", "spikelayers_neuron.triton_cells:cell_multi_step_triton"),
        KernelSpec(
            "neuron.cell_multi_step",
            "inductor",
            "spikelayers_neuron.inductor_kernel:cell_multi_step_inductor",
            supports="spikelayers_neuron.inductor_kernel:unsupported_reason",
        ),
        KernelSpec("neuron.izhikevich_multi_step", "torch", "spikelayers_neuron.fused_cells:izhikevich_multi_step"),
        KernelSpec(
            "neuron.izhikevich_multi_step", "triton", "spikelayers_neuron.triton_cells:izhikevich_multi_step_triton"
        ),
        KernelSpec(
            "neuron.izhikevich_multi_step",
            "inductor",
            "spikelayers_neuron.inductor_kernel:izhikevich_multi_step_inductor",
            supports="spikelayers_neuron.inductor_kernel:unsupported_reason",
        ),
        KernelSpec("neuron.gated_lif", "torch", "spikelayers_neuron.ops.gated_lif.fused:gated_lif_multi_step"),
        KernelSpec(
            "neuron.gated_lif",
            "inductor",
            "spikelayers_neuron.ops.gated_lif.inductor_kernel:gated_lif_multi_step_inductor",
        ),
        KernelSpec("neuron.dsr_if", "torch", "spikelayers_neuron.ops.dsr.fused:dsr_if"),
        KernelSpec("neuron.dsr_if", "inductor", "spikelayers_neuron.ops.dsr.inductor_kernel:dsr_if_inductor"),
        KernelSpec("neuron.dsr_lif", "torch", "spikelayers_neuron.ops.dsr.fused:dsr_lif"),
        KernelSpec("neuron.dsr_lif", "inductor", "spikelayers_neuron.ops.dsr.inductor_kernel:dsr_lif_inductor"),
    ]


@hookimpl
def spikelayers_bench_cases() -> list[BenchCase]:
    from .bench import BENCH_CASES
    from .psn_gated_dsr_bench import PSN_GATED_DSR_BENCH_CASES

    return list(BENCH_CASES) + list(PSN_GATED_DSR_BENCH_CASES)


@hookimpl
def spikelayers_conformance_cases() -> list[LayerCase]:
    from .cases import conformance_cases
    from .psn_gated_dsr_cases import psn_gated_dsr_cases

    return conformance_cases() + psn_gated_dsr_cases()


@hookimpl
def spikelayers_nir_converters() -> dict[str, dict[str, str]]:
    converters = "spikelayers_neuron.nir_converters"
    return {
        "exporters": {
            "spikelayers_neuron.node:IFNode": f"{converters}:export_if",
            "spikelayers_neuron.node:LIFNode": f"{converters}:export_lif",
            "spikelayers_neuron.node:ParametricLIFNode": f"{converters}:export_parametric_lif",
        },
        "importers": {"IF": f"{converters}:import_if", "LIF": f"{converters}:import_lif"},
    }
