"""Flatten with step modes: in multi-step mode it flattens each sample, never across T or N."""

from __future__ import annotations

import torch
from torch import nn

from .folding import FoldedLayer, Layout


def _rank_needed(dim: int) -> int:
    """The smallest rank in which ``dim`` is a valid dimension."""
    return dim + 1 if dim >= 0 else -dim


def _shift(dim: int) -> int:
    """``dim`` of one step as a dimension of a sequence ``[T, *]``."""
    return dim + 1 if dim >= 0 else dim


class Flatten(FoldedLayer, nn.Flatten):
    """:class:`torch.nn.Flatten` with step modes.

    ``'s'``: ``torch.flatten(x, start_dim, end_dim)`` on one step ``[N, *]``. ``'m'``:
    the same dimensions of every step, so ``[T, N, *]`` becomes exactly the stack of the
    single-step results; with the default ``start_dim=1`` that is ``[T, N, prod(*)]``.
    Dims are counted within one step, so even ``start_dim=0`` never merges ``T`` into
    anything. Where torch can, the output is a view of the input.

    Args:
        start_dim, end_dim: as in :class:`torch.nn.Flatten`, counted within one step.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1, step_mode: str = "s") -> None:
        super().__init__(start_dim, end_dim)
        self.step_mode = step_mode

    def input_layout(self) -> Layout:
        rank = max(1, _rank_needed(self.start_dim), _rank_needed(self.end_dim))
        return Layout(
            ranks=(rank,),
            text="[N, *]",
            multi_ranks=(max(rank + 1, 2),),
            multi_text="[T, N, *]",
            open_ended=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, *] -> [N, *']`` in ``'s'``; ``[T, N, *] -> [T, N, *']`` in ``'m'``."""
        multi_step = self.step_mode == "m"
        self.input_layout().check(self, x, multi_step)
        if not multi_step:
            return x.flatten(self.start_dim, self.end_dim)
        return x.flatten(_shift(self.start_dim), _shift(self.end_dim))
