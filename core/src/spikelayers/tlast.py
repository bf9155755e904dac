"""Containers for sequences whose time axis is the last dimension: ``[N, *, T]``.

:class:`TLastMultiStepContainer` runs its children step by step (they may keep state);
:class:`TLastSeqToANNContainer` runs stateless children on all steps in one vectorised
call (``torch.vmap`` over the last dimension). Both see each step as ``x[..., t]`` and
stack the results along a new last dimension. The children stay in single-step mode.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils._pytree import tree_map

from .base import MemoryModule, MultiStepModule


def _check_children(container: nn.Module) -> None:
    for index, child in enumerate(container.children()):
        mode = getattr(child, "step_mode", "s")
        if mode != "s":
            raise ValueError(
                f"{type(container).__name__}: every child must be in single-step mode 's', "
                f"child {index} ({type(child).__name__}) has step_mode={mode!r}"
            )


def _check_input(container: nn.Module, x_seq: torch.Tensor) -> None:
    if not isinstance(x_seq, torch.Tensor):
        raise TypeError(f"{type(container).__name__} expects a tensor [N, *, T], got {type(x_seq).__name__}")
    if x_seq.dim() < 1:
        raise ValueError(
            f"{type(container).__name__} expects input [N, *, T] (at least 1-D), got shape {tuple(x_seq.shape)}"
        )


def t_last_multi_step_reference(x_seq: torch.Tensor, modules: nn.Module) -> torch.Tensor:
    """Readable definition: ``x_seq[..., t]`` through ``modules`` for each ``t``, stacked last."""
    return torch.stack([modules(x_seq[..., t]) for t in range(x_seq.shape[-1])], dim=-1)


class TLastMultiStepContainer(MultiStepModule, nn.Sequential):
    """Run single-step modules over a time-last sequence, one step after another.

    ``[N, *, T] -> [N, *', T]`` (a 1-D input ``[T]`` has 0-D steps). Stateful children
    keep their state across steps and calls until ``reset_net``.
    """

    keeps_child_step_mode = True

    def __init__(self, *args: nn.Module) -> None:
        super().__init__(*args)
        _check_children(self)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_input(self, x_seq)
        try:
            return t_last_multi_step_reference(x_seq, super().forward)
        except RuntimeError as error:
            raise RuntimeError(
                f"{type(self).__name__}: a child failed on a step of shape {tuple(x_seq.shape[:-1])}: {error}"
            ) from error


class TLastSeqToANNContainer(MultiStepModule, nn.Sequential):
    """Run stateless single-step modules on every step of a time-last sequence at once.

    ``[N, *, T] -> [N, *', T]``: the children see one step ``[N, *]`` and are vectorised
    over ``T`` with ``torch.vmap``. Children that update buffers in place or draw random
    numbers (BatchNorm or Dropout in training mode) cannot be vectorised and raise; in eval
    mode they work. Stateful children (memory modules such as neurons) are rejected.
    """

    keeps_child_step_mode = True

    def __init__(self, *args: nn.Module) -> None:
        super().__init__(*args)
        _check_children(self)
        stateful = [type(m).__name__ for m in self.modules() if isinstance(m, MemoryModule)]
        if stateful:
            raise ValueError(
                f"{type(self).__name__}: children run vectorised over T and cannot keep state; "
                f"got stateful {', '.join(stateful)} (use TLastMultiStepContainer)"
            )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_input(self, x_seq)
        try:
            # Steps are vectorised along a leading dim that then moves last: torch.export
            # cannot trace a negative ``out_dims`` (it lifts a fake tensor as a constant).
            outputs = torch.vmap(super().forward, in_dims=-1, out_dims=0)(x_seq)
        except RuntimeError as error:
            raise RuntimeError(
                f"{type(self).__name__}: its children cannot run vectorised over T "
                f"(BatchNorm and Dropout work only in eval mode here): {error}"
            ) from error
        return tree_map(lambda y: y.movedim(0, -1), outputs)
