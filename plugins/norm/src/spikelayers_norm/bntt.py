"""Batch normalisation through time (BNTT): one batch norm, without shift, per time step.

``BatchNormThroughTimeNd(T, C)`` keeps ``T`` independent ``torch.nn.BatchNormNd(C)``
(their bias removed) in ``bn_list``; the ``t``-th step of a sequence is normalised by
``bn_list[t]``. A counter (memory ``t``) says which step comes next, so a sequence may
arrive whole (``'m'``), one step at a time (``'s'``), or in pieces; ``reset()`` rewinds
the counter and keeps the running statistics.

In multi-step mode the steps are normalised together, each with its own statistics,
by :func:`batch_norm_through_time` (no loop over ``T``);
:func:`batch_norm_through_time_reference` is the readable per-step definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from spikelayers.base import MemoryModule
from spikelayers.batch_statistics import grouped_batch_norm, update_running_statistics
from spikelayers.kernels import reference_under_torch_func

from ._layout import LAYOUT_1D, LAYOUT_2D, LAYOUT_3D, Layout


class TimeStepsExhaustedError(IndexError, ValueError):
    """A BNTT layer was asked for a step beyond its ``T`` without a reset."""


def batch_norm_through_time_reference(x_seq: torch.Tensor, norms: Sequence[_BatchNorm]) -> torch.Tensor:
    """Readable definition: step ``t`` of ``x_seq`` ``[T, N, C, *]`` through ``norms[t]``."""
    return torch.stack([norm(x) for norm, x in zip(norms, x_seq)])


SMALL_STEP_ELEMENTS = 2**15
"""Below this many elements per step, training-mode BNTT runs one batch norm per step."""


def _stat_shape(x: torch.Tensor) -> tuple[int, ...]:
    return (x.shape[0], 1, x.shape[2], *([1] * (x.dim() - 3)))


def _reference_in_mode(x_seq: torch.Tensor, norms: Sequence[_BatchNorm], training: bool) -> torch.Tensor:
    """:func:`batch_norm_through_time_reference` with the norms in ``training`` mode."""
    modes = [norm.training for norm in norms]
    try:
        for norm in norms:
            norm.train(training)
        return batch_norm_through_time_reference(x_seq, norms)
    finally:
        for norm, mode in zip(norms, modes, strict=True):
            norm.train(mode)


@reference_under_torch_func(_reference_in_mode)
def batch_norm_through_time(x_seq: torch.Tensor, norms: Sequence[_BatchNorm], training: bool) -> torch.Tensor:
    """Step ``t`` of ``x_seq`` ``[T, N, C, *]`` normalised as ``norms[t]`` would, all steps at once.

    In training (or without running statistics) each step uses its batch statistics and
    updates its running statistics like ``torch.nn.BatchNormNd``; in eval mode it uses
    its running statistics. The norms must share ``eps``, ``affine`` and
    ``track_running_stats`` (they do within one BNTT layer). An empty sequence (``T = 0``)
    gives ``[0, N, C, *]``. Under a :mod:`torch.func` transform
    :func:`batch_norm_through_time_reference` runs instead.
    """
    if x_seq.shape[0] == 0:
        return x_seq.clone()
    first = norms[0]
    tracked = first.running_mean is not None
    if x_seq.numel() == 0:  # an empty batch: torch's batch norm counts it and leaves the statistics
        if training and tracked:
            torch._foreach_add_([norm.num_batches_tracked for norm in norms], 1)
        return x_seq.clone()
    if (training or not tracked) and x_seq[0].numel() < SMALL_STEP_ELEMENTS:
        # Small steps: one native batch norm per step costs less than the whole-sequence
        # statistics' fixed overhead (and updates the same running statistics).
        return _reference_in_mode(x_seq, norms, training)
    weight = torch.stack([norm.weight for norm in norms]) if first.affine else None
    if training or not tracked:
        y, mean, var = grouped_batch_norm(x_seq, weight, None, first.eps)
        if training and tracked:
            update_running_statistics(norms, mean, var, x_seq[0].numel() // x_seq.shape[2])
        return y
    shape = _stat_shape(x_seq)
    mean = torch.stack([norm.running_mean for norm in norms]).view(shape)
    var = torch.stack([norm.running_var for norm in norms]).view(shape)
    scale = torch.rsqrt(var + first.eps)
    if weight is not None:
        scale = scale * weight.view(shape)
    return torch.addcmul(-mean * scale, x_seq, scale)  # (x - mean) * scale in one pass


class _BatchNormThroughTime(MemoryModule):
    """``T`` batch norms without shift, one per time step, chosen by a step counter."""

    batch_norm_class: ClassVar[type[_BatchNorm]]
    layout: ClassVar[Layout]

    def __init__(
        self,
        T: int,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"{type(self).__name__}: T must be a positive integer, got {T!r}")
        self.bn_list = nn.ModuleList(
            self.batch_norm_class(num_features, eps, momentum, affine, track_running_stats) for _ in range(T)
        )
        for norm in self.bn_list:
            norm.bias = None
        self.T = T
        self.num_features = num_features
        self.step_mode = step_mode
        self.register_memory("t", -1)

    def _steps(self, count: int) -> tuple[int, int]:
        """The first and one-past-last step indices of the next ``count`` steps; raises past ``T``."""
        start = self.t + 1
        if start + count > self.T:
            raise TimeStepsExhaustedError(
                f"{type(self).__name__} (step_mode={self.step_mode!r}) has T={self.T} steps and "
                f"{self.T - start} are left, got {count}; call spikelayers.functional.reset_net(net) "
                "between sequences"
            )
        return start, start + count

    def _check_batch(self, x: torch.Tensor, multi_step: bool) -> None:
        if not self.training:
            return
        values = x[0].numel() // x.shape[2] if multi_step else x.numel() // x.shape[1]
        if values == 1:
            raise ValueError(
                f"{type(self).__name__} (step_mode={self.step_mode!r}) needs more than one value per "
                f"channel in training, got input shape {tuple(x.shape)}"
            )

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, C, *]`` through the next step's batch norm."""
        self.layout.check(self, x, False, self.num_features)
        self._check_batch(x, False)
        start, _ = self._steps(1)
        y = self.bn_list[start](x)
        self.t = start
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T', N, C, *]``, the next ``T'`` steps, each through its own batch norm.

        An empty sequence (``T' = 0``) runs no step: it gives ``[0, N, C, *]`` and leaves
        the counter and the running statistics as they were.
        """
        self.layout.check(self, x_seq, True, self.num_features)
        if x_seq.shape[0] == 0:
            return x_seq.clone()
        self._check_batch(x_seq, True)
        start, stop = self._steps(x_seq.shape[0])
        y = batch_norm_through_time(x_seq, list(self.bn_list[start:stop]), self.training)
        self.t = stop - 1
        return y

    def extra_repr(self) -> str:
        return f"T={self.T}, num_features={self.num_features}, {super().extra_repr()}"


class BatchNormThroughTime1d(_BatchNormThroughTime):
    """BNTT over ``[N, C]`` or ``[N, C, L]`` steps (``[T, N, C(, L)]`` in ``'m'``).

    Args:
        T: number of time steps (one ``torch.nn.BatchNorm1d`` each, in ``bn_list``).
        num_features: ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm1d`
            (``affine`` gives a per-step scale only: there is no bias).
        step_mode: ``'s'`` or ``'m'``.
    """

    batch_norm_class = nn.BatchNorm1d
    layout = LAYOUT_1D


class BatchNormThroughTime2d(_BatchNormThroughTime):
    """BNTT over ``[N, C, H, W]`` steps (``[T, N, C, H, W]`` in ``'m'``).

    Args:
        T: number of time steps (one ``torch.nn.BatchNorm2d`` each, in ``bn_list``).
        num_features: ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm2d`
            (``affine`` gives a per-step scale only: there is no bias).
        step_mode: ``'s'`` or ``'m'``.
    """

    batch_norm_class = nn.BatchNorm2d
    layout = LAYOUT_2D


class BatchNormThroughTime3d(_BatchNormThroughTime):
    """BNTT over ``[N, C, D, H, W]`` steps (``[T, N, C, D, H, W]`` in ``'m'``).

    Args:
        T: number of time steps (one ``torch.nn.BatchNorm3d`` each, in ``bn_list``).
        num_features: ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm3d`
            (``affine`` gives a per-step scale only: there is no bias).
        step_mode: ``'s'`` or ``'m'``.
    """

    batch_norm_class = nn.BatchNorm3d
    layout = LAYOUT_3D


__all__ = [
    "BatchNormThroughTime1d",
    "BatchNormThroughTime2d",
    "BatchNormThroughTime3d",
    "TimeStepsExhaustedError",
    "batch_norm_through_time",
    "batch_norm_through_time_reference",
]
