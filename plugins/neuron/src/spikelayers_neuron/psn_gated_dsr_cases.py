"""Conformance-kit cases of the parallel spiking, gated LIF and DSR neurons.

The parallel spiking neurons keep no state in multi-step mode, while their single-step
mode queues the last ``k`` inputs, so each mode is its own case (the tests compare the
two modes' outputs and gradients directly). Neurons built for a fixed ``T`` take whole
sequences only, so they are not chunkable.
"""

from __future__ import annotations

import torch

from spikelayers.testing import LayerCase

from .cases import scaled_gaussian


def large_gaussian(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Gaussian input with mean 30 and std 30: a DSR LIF neuron integrates 1/40 of it per step."""
    return (torch.randn(shape, generator=generator, dtype=dtype) * 30.0 + 30.0).to(dtype)


def psn_gated_dsr_cases() -> list[LayerCase]:
    """One case per neuron configuration and step mode."""
    from .dsr import DSRIFNode, DSRLIFNode
    from .gated import GatedLIFNode
    from .psn import PSN, MaskedPSN, SlidingPSN
    from .surrogate import Sigmoid

    T = 6
    common = {"input_shape": (3, 5), "T": T, "input_fn": scaled_gaussian, "compile": True}
    fixed_T = {**common, "chunkable": False, "rank_checks": ("m",)}
    image = {**fixed_T, "input_shape": (3, 4, 2, 2)}
    return [
        LayerCase(lambda: PSN(T), name="PSN", **fixed_T),
        LayerCase(lambda: MaskedPSN(2, T, lambda_init=1.0), name="MaskedPSN-m", step_modes=("m",), **fixed_T),
        LayerCase(
            lambda: MaskedPSN(3, T, lambda_init=0.4), name="MaskedPSN-partial-mask-m", step_modes=("m",), **fixed_T
        ),
        LayerCase(
            lambda: MaskedPSN(2, T, lambda_init=1.0),
            name="MaskedPSN-s",
            step_modes=("s",),
            **{**fixed_T, "rank_checks": ()},
        ),
        LayerCase(
            lambda: SlidingPSN(3),
            name="SlidingPSN-gemm-m",
            step_modes=("m",),
            chunkable=False,
            rank_checks=(),
            **common,
        ),
        LayerCase(
            lambda: SlidingPSN(3, exp_init=False, backend="conv"),
            name="SlidingPSN-conv-m",
            step_modes=("m",),
            chunkable=False,
            rank_checks=(),
            **common,
        ),
        LayerCase(
            lambda: SlidingPSN(3, surrogate_function=Sigmoid()),
            name="SlidingPSN-s",
            step_modes=("s",),
            rank_checks=(),
            **common,
        ),
        LayerCase(lambda: GatedLIFNode(T), name="GatedLIFNode", **image),
        LayerCase(lambda: GatedLIFNode(T, inplane=4, init_tau=0.4), name="GatedLIFNode-channel-wise", **image),
        LayerCase(lambda: DSRIFNode(T, v_threshold=1.0), name="DSRIFNode", **fixed_T),
        LayerCase(lambda: DSRLIFNode(T), name="DSRLIFNode", **{**fixed_T, "input_fn": large_gaussian}),
    ]
