"""The voting layer: each class's score is the mean of its group of output neurons."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import StepModule
from spikelayers.shapes import check_min_dim, floating_input
from spikelayers.validators import positive_int


class VotingLayer(StepModule, nn.Module):
    """Average consecutive groups of ``voting_size`` values in the last dim.

    ``[..., C * voting_size] -> [..., C]``: output ``c`` is the mean of inputs
    ``c * voting_size`` to ``(c + 1) * voting_size - 1``. The computation ignores the
    leading dims, so both modes accept any number of them: one step ``[N, *, C * v]``,
    a sequence ``[T, N, *, C * v]`` (at least ``[T, C * v]``).

    Args:
        voting_size: the number of neurons voting for one class (a positive int).
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).

    Raises:
        ValueError: when ``voting_size`` is not a positive int, or (at forward) when it
            does not divide the last dim of the input.
    """

    def __init__(self, voting_size: int = 10, step_mode: str = "s") -> None:
        super().__init__()
        self.voting_size = positive_int("VotingLayer", "voting_size", voting_size)
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[*, C * voting_size] -> [*, C]`` in either step mode."""
        if self.step_mode == "m":
            check_min_dim(self, x, 2, "[T, *, C * voting_size]")
        else:
            check_min_dim(self, x, 1, "[N, *, C * voting_size]")
        if x.shape[-1] % self.voting_size != 0:
            raise ValueError(
                f"VotingLayer (step_mode={self.step_mode!r}): the last dim of the input must be a multiple "
                f"of voting_size={self.voting_size}, got shape {tuple(x.shape)}"
            )
        x = floating_input(self, x)
        return x.unflatten(-1, (x.shape[-1] // self.voting_size, self.voting_size)).mean(-1)

    def extra_repr(self) -> str:
        return f"voting_size={self.voting_size}, step_mode={self.step_mode}"
