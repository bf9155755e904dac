"""Containers of the step-mode protocol."""

from __future__ import annotations

import torch
from torch import nn

from .base import MultiStepModule, StepModule
from .functional import multi_step_forward, seq_to_ann_forward
from .shapes import check_min_dim


class MultiStepContainer(MultiStepModule, nn.Sequential):
    """Run single-step modules step by step over a sequence.

    ``[T, N, *] -> [T, N, *']``. The children stay in single-step mode.
    """

    keeps_child_step_mode = True

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        return multi_step_forward(x_seq, tuple(self))


class SeqToANNContainer(MultiStepModule, nn.Sequential):
    """Fold time into the batch, run stateless modules once, unfold.

    ``[T, N, *] -> [T * N, *] -> [T, N, *']``. The children stay in single-step mode.
    """

    keeps_child_step_mode = True

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        return seq_to_ann_forward(x_seq, tuple(self))


class StepModeContainer(StepModule, nn.Sequential):
    """A sequence of single-step modules that runs in either step mode.

    In ``'s'`` it is a plain sequence over ``[N, *]``. In ``'m'`` (``[T, N, *]``) it runs
    the children step by step when ``stateful`` is true, and folds time into the batch
    otherwise. The children stay in single-step mode.
    """

    keeps_child_step_mode = True

    def __init__(self, stateful: bool, *args: nn.Module) -> None:
        super().__init__(*args)
        self.stateful = stateful

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s":
            for module in self:
                x = module(x)
            return x
        check_min_dim(self, x, 2, "[T, N, *]")
        if self.stateful:
            return multi_step_forward(x, tuple(self))
        return seq_to_ann_forward(x, tuple(self))

    def extra_repr(self) -> str:
        return f"stateful={self.stateful}, step_mode={self.step_mode}"


class PrintShapeModule(nn.Module):
    """Print the shape of its input and return the input unchanged (for debugging)."""

    def __init__(self, ext_str: str = "PrintShapeModule") -> None:
        super().__init__()
        self.ext_str = ext_str

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print(self.ext_str, tuple(x.shape))
        return x

    def extra_repr(self) -> str:
        return f"ext_str={self.ext_str!r}"
