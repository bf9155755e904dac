"""Benchmark cases of the neurons (see :class:`spikelayers.benchmarks.BenchCase`).

The baseline of each case is the per-step autograd loop that the fused multi-step
function replaces: the readable reference for IF/LIF/PLIF, and the neuron's own hooks
(charge, fire, reset once per step, as the reference library runs them) for the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.benchmarks import BenchCase

# "gpu": T=16 over 4M neurons, the size at which GPU kernels are judged (``--sizes gpu``).
SHAPES = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32), "gpu": (16, 4096, 1024)}


class ReferenceNeuron(MemoryModule):
    """A neuron whose multi-step mode is :func:`~spikelayers_neuron.reference.reference_multi_step`.

    Wraps a built neuron ``node`` ``[T, N, *] -> [T, N, *]``; used as the benchmark
    baseline.
    """

    step_modes = ("m",)

    def __init__(self, node: nn.Module) -> None:
        super().__init__()
        self.node = node
        self.step_mode = "m"

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        from .reference import reference_multi_step

        v0 = torch.full_like(x_seq[0], 0.0 if self.node.v_reset is None else self.node.v_reset)
        spikes, _ = reference_multi_step(x_seq, v0, self.node.decay(), self.node.config())
        return spikes


def _builder(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from spikelayers import neuron

        return getattr(neuron, name)(**kwargs)

    return build


def _hooks_baseline(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    """The neuron run through its hooks, one autograd step at a time (no fused path)."""

    def build() -> nn.Module:
        from spikelayers import neuron

        cls = getattr(neuron, name)

        def neuronal_charge(self: Any, x: torch.Tensor) -> None:
            cls.neuronal_charge(self, x)

        hooks_only = type(f"{name}Hooks", (cls,), {"neuronal_charge": neuronal_charge})
        return hooks_only(**kwargs)

    return build


def _baseline(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        return ReferenceNeuron(_builder(name)())

    return build


BENCH_CASES: list[BenchCase] = [
    BenchCase(
        name=name,
        factory=_builder(name),
        shapes=SHAPES,
        backends=("triton", "inductor"),
        baseline=_baseline(name),
        tags=("neuron",),
    )
    for name in ("IFNode", "LIFNode", "ParametricLIFNode")
] + [
    BenchCase(
        name=name,
        factory=_builder(name, **kwargs),
        shapes=SHAPES,
        baseline=_hooks_baseline(name, **kwargs),
        backends=("triton", "inductor"),
        kwargs=kwargs,
        tags=("neuron",),
    )
    for name, kwargs in (
        ("QIFNode", {}),
        ("EIFNode", {}),
        ("IzhikevichNode", {"a": 0.5, "b": 0.2}),
        ("KLIFNode", {}),
    )
]
