"""Benchmark cases of the parallel spiking, gated LIF and DSR neurons.

Each case's ``baseline`` is the equivalent per-step loop the fast path replaces: for
PSN the charge of one step at a time (``H[t] = W[t] @ X + B[t]``, one pass over the whole
input per step), for the masked and sliding PSN the readable loop of
:mod:`.ops.psn.reference` (their single-step mode is the runner's ``reference`` row as
well), for the gated LIF neuron the differentiable loop of
:mod:`.ops.gated_lif.reference`, and for the DSR neurons the reference autograd
functions of :mod:`.ops.dsr.reference`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from spikelayers.base import MultiStepModule
from spikelayers.benchmarks import BenchCase

# T = 8 everywhere: the PSN, masked PSN, gated LIF and DSR neurons are built for T = 8.
SHAPES = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}
T = 8


class PerStepLoop(MultiStepModule, nn.Module):
    """``[T, N, *] -> [T, N, *]`` through ``step_loop(node, x_seq)``: a baseline around a built neuron."""

    def __init__(self, node: nn.Module, step_loop: Callable[[nn.Module, torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.node = node
        self.step_loop = step_loop

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.step_loop(self.node, x_seq)


def psn_step_by_step(node: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """PSN one step at a time: ``S[t] = surrogate(W[t] @ X + B[t])``."""
    x = x_seq.flatten(1)
    steps = [node.surrogate_function(node.weight[t] @ x + node.bias[t]) for t in range(x.shape[0])]
    return torch.stack(steps).view(x_seq.shape)


def masked_psn_loop(node: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    from .ops.psn.reference import masked_psn_reference

    return masked_psn_reference(x_seq, node.weight, node.bias, node.k, float(node.lambda_), node.surrogate_function)


def sliding_psn_loop(node: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    from .ops.psn.reference import sliding_psn_reference

    return sliding_psn_reference(x_seq, node.weight, node.bias, node.surrogate_function)


def gated_lif_loop(node: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    from .ops.gated_lif.reference import gated_lif_reference

    v0 = torch.zeros_like(x_seq[0])
    return gated_lif_reference(x_seq, v0, node.parameters_tuple(), node.surrogate_function)[0]


def dsr_if_loop(node: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    from .ops.dsr.reference import DSRIFReference

    return DSRIFReference.apply(x_seq, node.T, node.effective_threshold(), node.alpha, node.v_threshold_grad_scaling)


def dsr_lif_loop(node: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    from .ops.dsr.reference import DSRLIFReference

    return DSRLIFReference.apply(
        x_seq,
        node.T,
        node.effective_threshold(),
        node.tau,
        node.delta_t,
        node.alpha,
        node.v_threshold_grad_scaling,
    )


def _builder(module: str, name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import importlib

        return getattr(importlib.import_module(f"spikelayers_neuron.{module}"), name)(*args, **kwargs)

    return build


def _baseline(build: Callable[[], nn.Module], loop: Callable[[nn.Module, torch.Tensor], torch.Tensor]):
    return lambda: PerStepLoop(build(), loop)


def _case(
    module: str,
    name: str,
    loop: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    *args: Any,
    reference: bool = False,
    backends: tuple[str, ...] = (),
    **kwargs: Any,
) -> BenchCase:
    build = _builder(module, name, *args, **kwargs)
    return BenchCase(
        name=name,
        factory=build,
        shapes=SHAPES,
        reference=reference,
        backends=backends,
        baseline=_baseline(build, loop),
        args=args,
        kwargs=kwargs,
        tags=("neuron",),
    )


PSN_GATED_DSR_BENCH_CASES: list[BenchCase] = [
    _case("psn", "PSN", psn_step_by_step, T),
    _case("psn", "MaskedPSN", masked_psn_loop, 2, T, lambda_init=1.0, reference=True),
    _case("psn", "SlidingPSN", sliding_psn_loop, 2, reference=True, backends=("conv",)),
    _case("gated", "GatedLIFNode", gated_lif_loop, T, backends=("inductor",)),
    _case("dsr", "DSRIFNode", dsr_if_loop, T, backends=("inductor",), v_threshold=1.0),
    _case("dsr", "DSRLIFNode", dsr_lif_loop, T, backends=("inductor",)),
]
