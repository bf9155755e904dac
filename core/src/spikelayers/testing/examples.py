"""A small correct stateful layer: what the conformance kit passes, and the base of the
deliberately broken layers that the kit's own tests show it catching."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.shapes import check_dim, floating_input


class LeakyIntegrator(MemoryModule):
    """``v <- decay * v + x`` with a learnable ``decay`` (0.7 at first); output ``tanh(v)``.

    Input ``[N, C]`` in ``'s'``, ``[T, N, C]`` in ``'m'``; integer spikes are taken as
    floating point. Memory ``v`` starts at 0.
    """

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.decay = nn.Parameter(torch.tensor(0.7))
        self.register_memory("v", 0.0)
        self.step_mode = step_mode

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        check_dim(self, x, 2, "[N, C]")
        x = floating_input(self, x, self.decay)
        self.v = self.memory_like("v", x) * self.decay + x
        return torch.tanh(self.v)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_dim(self, x_seq, 3, "[T, N, C]")
        return super().multi_step_forward(x_seq)
