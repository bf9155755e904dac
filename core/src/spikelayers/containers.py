"""Containers of the step-mode protocol."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .base import MultiStepModule, StepModule
from .functional import multi_step_forward, seq_to_ann_forward
from .shapes import check_min_dim


def check_children_single_step(container: str, children: Iterable[nn.Module]) -> None:
    """Raise ``ValueError`` if a step module among ``children`` is not in single-step mode.

    ``container`` (its class name) drives its children one step at a time; a child in
    ``'m'`` would receive ``[N, *]`` steps where it expects ``[T, N, *]`` sequences. Step
    modules nested inside a child count too, except inside containers that keep their
    own children's step mode.
    """
    for index, child in enumerate(children):
        for module in _step_modules(child):
            if module.step_mode != "s":
                inner = "" if module is child else f" (inside {type(child).__name__})"
                raise ValueError(
                    f"{container}: child {index} {type(module).__name__}{inner} has step_mode="
                    f"{module.step_mode!r}, but {container} runs its children step by step "
                    "(single-step mode); build the child with step_mode='s'"
                )


def _step_modules(module: nn.Module) -> Iterable[StepModule]:
    stack = [module]
    while stack:
        current = stack.pop()
        if isinstance(current, StepModule):
            yield current
        if not getattr(current, "keeps_child_step_mode", False):
            stack.extend(current.children())


class MultiStepContainer(MultiStepModule, nn.Sequential):
    """Run single-step modules step by step over a sequence.

    ``[T, N, *] -> [T, N, *']``; an empty sequence ``T = 0`` gives ``[0, N, *']`` and
    changes no state. The children stay in single-step mode; a child built in ``'m'``
    raises ``ValueError``.
    """

    keeps_child_step_mode = True

    def __init__(self, *args: nn.Module) -> None:
        super().__init__(*args)
        check_children_single_step(type(self).__name__, self)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        return multi_step_forward(x_seq, tuple(self))


class SeqToANNContainer(MultiStepModule, nn.Sequential):
    """Fold time into the batch, run stateless modules once, unfold.

    ``[T, N, *] -> [T * N, *] -> [T, N, *']``. The children stay in single-step mode;
    a child built in ``'m'`` raises ``ValueError``.
    """

    keeps_child_step_mode = True

    def __init__(self, *args: nn.Module) -> None:
        super().__init__(*args)
        check_children_single_step(type(self).__name__, self)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        return seq_to_ann_forward(x_seq, tuple(self))


class StepModeContainer(StepModule, nn.Sequential):
    """A sequence of single-step modules that runs in either step mode.

    In ``'s'`` it is a plain sequence over ``[N, *]``. In ``'m'`` (``[T, N, *]``) it runs
    the children step by step when ``stateful`` is true, and folds time into the batch
    otherwise. The children stay in single-step mode; a child built in ``'m'`` raises
    ``ValueError``.
    """

    keeps_child_step_mode = True

    def __init__(self, stateful: bool, *args: nn.Module) -> None:
        super().__init__(*args)
        check_children_single_step(type(self).__name__, self)
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
