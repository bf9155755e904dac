"""What both recurrent containers share: a driven sub-module and the output memory ``y``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.containers import check_children_single_step
from spikelayers.functional import detach_net, reset_net
from spikelayers.shapes import check_min_dim


class RecurrentContainer(MemoryModule):
    """A memory module that feeds its last output ``y`` back into ``sub_module``.

    The sub-module always runs one step at a time: a sub-module built in multi-step mode
    raises ``ValueError``, and :func:`spikelayers.functional.set_step_mode` leaves it in
    single-step mode (``keeps_child_step_mode``). In multi-step mode the container loops
    over ``T``; an empty sequence (``T = 0``) gives ``[0, N, *']`` and changes no state.
    ``reset()`` and ``detach()`` also reach the sub-module's memories.
    """

    keeps_child_step_mode = True
    min_sequence_dim: int = 2
    sequence_layout: str = "[T, N, *]"

    def __init__(self, sub_module: nn.Module, step_mode: str = "s") -> None:
        super().__init__()
        check_children_single_step(type(self).__name__, [sub_module])
        self.step_mode = step_mode
        self.sub_module = sub_module
        self.register_memory("y", None)

    def reset(self) -> None:
        """Return ``y`` to ``None`` (zeros at the next step) and reset the sub-module."""
        super().reset()
        reset_net(self.sub_module)

    def detach(self) -> None:
        """Cut ``y`` and the sub-module's memories from the autograd graph."""
        super().detach()
        detach_net(self.sub_module)

    def multi_step_forward(self, x_seq: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """``[T, N, *] -> [T, N, *']``: the single step applied for t = 0..T-1."""
        check_min_dim(self, x_seq, self.min_sequence_dim, self.sequence_layout)
        self._check_sequence(x_seq)
        if x_seq.shape[0] == 0:
            return x_seq.new_empty((0, *self._step_output_shape(x_seq.shape[1:])))
        return torch.stack([self.single_step_forward(x) for x in x_seq])

    def _step_output_shape(self, step_shape: torch.Size) -> torch.Size:
        """The output shape of one input step of shape ``step_shape``."""
        return step_shape

    def _check_sequence(self, x_seq: torch.Tensor) -> None:
        """Further checks of a whole input sequence (none by default)."""

    def _check_output(self, y: Any, expected: torch.Size, layout: str) -> torch.Tensor:
        if not isinstance(y, torch.Tensor) or y.shape != expected:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(
                f"{type(self).__name__}: sub_module must return a tensor {layout} of shape "
                f"{tuple(expected)} for this input, got {got}"
            )
        return y
