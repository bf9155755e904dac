"""Conformance-kit cases for the neurons (built lazily by the plugin hook)."""

from __future__ import annotations

import torch

from spikelayers.testing import LayerCase


def scaled_gaussian(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Gaussian input with mean 0.6 and std 1.5, so that neurons fire often."""
    return (torch.randn(shape, generator=generator, dtype=dtype) * 1.5 + 0.6).to(dtype)


def conformance_cases() -> list[LayerCase]:
    """One case per neuron and reset flavour; any input rank is valid, so no rank checks."""
    from .node import IFNode, LIFNode, ParametricLIFNode
    from .surrogate import ATan, PiecewiseQuadratic

    common = {"input_shape": (3, 5), "T": 6, "input_fn": scaled_gaussian, "rank_checks": ()}
    return [
        LayerCase(lambda: IFNode(), name="IFNode", **common),
        LayerCase(lambda: IFNode(v_reset=None, surrogate_function=ATan()), name="IFNode-soft", **common),
        LayerCase(lambda: LIFNode(tau=2.0), name="LIFNode", **common),
        LayerCase(
            lambda: LIFNode(tau=3.0, decay_input=False, v_reset=None, detach_reset=True),
            name="LIFNode-soft-detach",
            **common,
        ),
        LayerCase(lambda: ParametricLIFNode(init_tau=2.5), name="ParametricLIFNode", **common),
        LayerCase(
            lambda: ParametricLIFNode(decay_input=False, v_reset=-0.2, surrogate_function=PiecewiseQuadratic()),
            name="ParametricLIFNode-no-decay-input",
            **common,
        ),
    ]
