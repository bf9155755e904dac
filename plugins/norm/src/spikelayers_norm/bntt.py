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

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from spikelayers.base import MemoryModule
from spikelayers.kernels import reference_under_torch_func

from ._layout import LAYOUT_1D, LAYOUT_2D, LAYOUT_3D, Layout


class TimeStepsExhaustedError(IndexError, ValueError):
    """A BNTT layer was asked for a step beyond its ``T`` without a reset."""


def batch_norm_through_time_reference(x_seq: torch.Tensor, norms: Sequence[_BatchNorm]) -> torch.Tensor:
    """Readable definition: step ``t`` of ``x_seq`` ``[T, N, C, *]`` through ``norms[t]``."""
    return torch.stack([norm(x) for norm, x in zip(norms, x_seq)])


class _NormaliseWithBatchStatistics(torch.autograd.Function):
    """``(x - mean) * weight / sqrt(var + eps)`` with per-(step, channel) batch statistics.

    ``x`` is ``[T, N, C, *]``, handled as ``[T, N, C, L]``; statistics are taken over ``N``
    and ``L`` with sums and per-row norms (no full-size square is stored). Only the
    input and the statistics are saved; the backward is torch's batch-norm backward, step
    by step, which also makes second derivatives right (the statistics depend on ``x``).
    """

    @staticmethod
    def forward(
        x: torch.Tensor, weight: torch.Tensor | None, eps: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = _rows(x)
        count = rows.shape[1] * rows.shape[3]
        mean = rows.sum(dim=(1, 3), keepdim=True) / count
        y = rows - mean
        # per-row norms reduce in one read (a dot product of y with itself writes y * y first)
        var = torch.linalg.vector_norm(y, dim=-1).square_().sum(dim=1).unsqueeze(1).unsqueeze(-1) / count
        scale = torch.rsqrt(var + eps)
        if weight is not None:
            scale = scale * weight.unsqueeze(1).unsqueeze(-1)
        return y.mul_(scale).view_as(x), mean, var

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
        x, weight, eps = inputs
        _, mean, var = output
        ctx.save_for_backward(x, weight, mean, var)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, var)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor, _grad_mean, _grad_var):  # type: ignore[no-untyped-def]
        # One native batch-norm backward per step (each fuses its two reductions and the
        # element-wise pass), given the forward's statistics.
        x, weight, mean, var = ctx.saved_tensors
        steps, channels = x.shape[0], x.shape[2]
        mean = mean.view(steps, channels)
        invstd = torch.rsqrt(var.view(steps, channels) + ctx.eps)
        want_weight = weight is not None and ctx.needs_input_grad[1]
        mask = [ctx.needs_input_grad[0], want_weight, False]
        grad_steps, grad_weight_steps = [], []
        for t in range(steps):
            step_weight = None if weight is None else weight[t]
            grad_x_t, grad_weight_t, _ = torch.ops.aten.native_batch_norm_backward(
                grad_y[t], x[t], step_weight, None, None, mean[t], invstd[t], True, ctx.eps, mask
            )
            grad_steps.append(grad_x_t)
            grad_weight_steps.append(grad_weight_t)
        grad_x = torch.stack(grad_steps) if mask[0] else None
        grad_weight = torch.stack(grad_weight_steps) if want_weight else None
        return grad_x, grad_weight, None


SMALL_STEP_ELEMENTS = 2**15
"""Below this many elements per step, training-mode BNTT runs one batch norm per step."""


def _rows(x: torch.Tensor) -> torch.Tensor:
    """``[T, N, C, *]`` as ``[T, N, C, L]`` (a view when ``x`` allows it)."""
    return x.reshape(*x.shape[:3], math.prod(x.shape[3:]))


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
        y, mean, var = _NormaliseWithBatchStatistics.apply(x_seq, weight, first.eps)
        if training and tracked:
            _update_running_statistics(norms, mean.flatten(), var.flatten(), x_seq)
        return y
    shape = _stat_shape(x_seq)
    mean = torch.stack([norm.running_mean for norm in norms]).view(shape)
    var = torch.stack([norm.running_var for norm in norms]).view(shape)
    scale = torch.rsqrt(var + first.eps)
    if weight is not None:
        scale = scale * weight.view(shape)
    return torch.addcmul(-mean * scale, x_seq, scale)  # (x - mean) * scale in one pass


@torch.no_grad()
def _update_running_statistics(
    norms: Sequence[_BatchNorm], mean: torch.Tensor, var: torch.Tensor, x_seq: torch.Tensor
) -> None:
    """Each norm's running mean and (unbiased) variance move towards its step's batch statistics."""
    count = x_seq.numel() // (x_seq.shape[0] * x_seq.shape[2])
    unbiased = var * (count / max(count - 1, 1))
    steps, channels = x_seq.shape[0], x_seq.shape[2]
    means = list(mean.view(steps, channels).unbind(0))
    variances = list(unbiased.view(steps, channels).unbind(0))
    counters = [norm.num_batches_tracked for norm in norms]
    torch._foreach_add_(counters, 1)
    momentum = norms[0].momentum
    # momentum None: a cumulative average, in which each step has its own count
    factors = [1.0 / float(c) for c in counters] if momentum is None else [momentum] * steps
    for buffers, batch in (([norm.running_mean for norm in norms], means), ([n.running_var for n in norms], variances)):
        torch._foreach_mul_(buffers, [1.0 - f for f in factors])
        torch._foreach_add_(buffers, torch._foreach_mul(batch, factors))


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
