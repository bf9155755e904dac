"""The conformance kit over both containers in both step modes, with a stateful sub-module too."""

from __future__ import annotations

import operator

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.testing import LayerCase, parametrize_with_checks
from spikelayers_recurrent.cases import conformance_cases
from spikelayers_recurrent.element_wise import ElementWiseRecurrentContainer
from spikelayers_recurrent.linear import LinearRecurrentContainer


class LeakyTanh(MemoryModule):
    """A small stateful test neuron: ``v <- 0.5 v + x``, output ``tanh(v)``; memory ``v``."""

    def __init__(self) -> None:
        super().__init__()
        self.register_memory("v", 0.0)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.v = 0.5 * self.memory_like("v", x) + x
        return torch.tanh(self.v)


STATEFUL_CASES = [
    LayerCase(
        lambda: ElementWiseRecurrentContainer(LeakyTanh(), operator.mul),
        input_shape=(2, 3, 4),
        T=4,
        name="ElementWiseRecurrentContainer-stateful",
        rank_checks=(),
        dtype=torch.float64,
    ),
    LayerCase(
        lambda: LinearRecurrentContainer(nn.Sequential(nn.Linear(5, 2), LeakyTanh()), 5, 2, bias=False),
        input_shape=(2, 3, 5),
        T=6,
        name="LinearRecurrentContainer-stateful",
        rank_checks=(),  # [N, *, in_features] without T is a valid [T, N, in_features]
    ),
]


@parametrize_with_checks(conformance_cases() + STATEFUL_CASES)
def test_recurrent_conforms(case, check):
    check(case)
