"""Conformance-kit cases for the neurons (built lazily by the plugin hook)."""

from __future__ import annotations

import torch

from spikelayers.testing import LayerCase


def scaled_gaussian(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Gaussian input with mean 0.6 and std 1.5, so that neurons fire often."""
    return (torch.randn(shape, generator=generator, dtype=dtype) * 1.5 + 0.6).to(dtype)


def moderate_gaussian(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Gaussian input with mean 0.5 and std 0.6: the nonlinear neurons fire without diverging."""
    return (torch.randn(shape, generator=generator, dtype=dtype) * 0.6 + 0.5).to(dtype)


def conformance_cases() -> list[LayerCase]:
    """One case per neuron and reset flavour; any input rank is valid, so no rank checks."""
    from .lif_variants import KLIFNode, LIAFNode, SLTTLIFNode
    from .node import IFNode, LIFNode, ParametricLIFNode
    from .nonlinear import EIFNode, IzhikevichNode, QIFNode
    from .surrogate import ATan, Erf, PiecewiseQuadratic, SoftSign

    common = {"input_shape": (3, 5), "T": 6, "input_fn": scaled_gaussian, "rank_checks": ()}
    nonlinear = {**common, "input_fn": moderate_gaussian}
    return [
        LayerCase(lambda: IFNode(), name="IFNode", **common),
        LayerCase(lambda: IFNode(v_reset=None, surrogate_function=ATan()), name="IFNode-soft", **common),
        LayerCase(lambda: LIFNode(tau=2.0), name="LIFNode", compile=True, **common),
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
        LayerCase(lambda: QIFNode(), name="QIFNode", compile=True, **nonlinear),
        LayerCase(
            lambda: QIFNode(tau=3.0, v_reset=None, detach_reset=True, surrogate_function=Erf()),
            name="QIFNode-soft-detach",
            **nonlinear,
        ),
        LayerCase(lambda: EIFNode(), name="EIFNode", **nonlinear),
        LayerCase(lambda: EIFNode(delta_T=0.5, v_reset=None), name="EIFNode-soft", **nonlinear),
        LayerCase(lambda: IzhikevichNode(a=0.3, b=0.2, tau_w=3.0), name="IzhikevichNode", compile=True, **nonlinear),
        LayerCase(
            lambda: IzhikevichNode(a=0.2, b=0.4, v_reset=None, detach_reset=True, surrogate_function=SoftSign()),
            name="IzhikevichNode-soft-detach",
            **nonlinear,
        ),
        LayerCase(lambda: KLIFNode(), name="KLIFNode", compile=True, **common),
        LayerCase(
            lambda: KLIFNode(scale_reset=True, decay_input=False, v_reset=None),
            name="KLIFNode-scale-reset-soft",
            **common,
        ),
        LayerCase(lambda: LIAFNode(torch.nn.Tanh(), True), name="LIAFNode-threshold-related", **common),
        LayerCase(lambda: LIAFNode(torch.nn.ReLU(), False, tau=3.0, v_reset=None), name="LIAFNode", **common),
        LayerCase(lambda: SLTTLIFNode(), name="SLTTLIFNode", **common),
    ]
