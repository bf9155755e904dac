"""Conformance-kit cases for the OTTT layers (built lazily by the plugin hook)."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.testing import LayerCase


def _drive(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Gaussian input with mean 0.8 and std 1.5, so that neurons fire often."""
    return torch.randn(shape, generator=generator, dtype=dtype) * 1.5 + 0.8


def conformance_cases() -> list[LayerCase]:
    """The neuron alone (train and eval) and small OTTT networks using every wrapper."""
    from .node import OTTTLIFNode
    from .sequential import OTTTSequential
    from .trace_ops import GradwithTrace, SpikeTraceOp

    common = {"input_shape": (3, 6), "T": 5, "input_fn": _drive, "rank_checks": ()}
    return [
        LayerCase(lambda: OTTTLIFNode(), name="OTTTLIFNode", **common),
        LayerCase(lambda: OTTTLIFNode(tau=3.0, v_reset=0.0), name="OTTTLIFNode-eval", train=False, **common),
        LayerCase(
            lambda: nn.Sequential(OTTTLIFNode(), SpikeTraceOp(nn.Dropout(0.0)), GradwithTrace(nn.Linear(6, 4))),
            name="GradwithTrace",
            **common,
        ),
        LayerCase(lambda: nn.Sequential(OTTTLIFNode(), SpikeTraceOp(nn.Flatten())), name="SpikeTraceOp", **common),
        LayerCase(
            lambda: OTTTSequential(nn.Linear(6, 5), OTTTLIFNode(), nn.Flatten(), nn.Linear(5, 2)),
            name="OTTTSequential",
            **common,
        ),
    ]
