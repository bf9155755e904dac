"""Temporal effective BatchNorm (TEBN): BatchNorm, then a learnable scale per time step.

``y[t] = scale[t] * BN(x)[t]`` with ``scale`` of shape ``[T]`` (ones at first). In
``'m'`` the BatchNorm takes its statistics over ``T`` and ``N`` together; the scale is
folded into the normalisation pass (see :mod:`spikelayers_norm.tebn_fused`).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.shapes import floating_input
from spikelayers.validators import positive_int

from ._layout import LAYOUT_ND
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, FoldedNorm
from .tebn_fused import tebn_forward


class _AnyRankBatchNorm(FoldedNorm, nn.modules.batchnorm._BatchNorm):
    """A BatchNorm taking ``[N, C, *]`` of any rank >= 2 (the inner layer of the Nd base)."""

    layout = LAYOUT_ND

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"{type(self).__name__} expects input [N, C, *], got shape {tuple(input.shape)}")


class TemporalEffectiveBatchNormNd(MemoryModule):
    """TEBN for inputs ``[N, C, *]`` per step (``[T, N, C, *]`` in ``'m'``); the shared base.

    ``self.bn`` holds the BatchNorm parameters and running statistics; ``self.scale``
    (``[T]``, also reachable as ``k``) the per-step scale. Memory ``t``: the number of
    steps since the last reset. In ``'s'`` step ``t`` uses ``scale[t]`` and a step past
    ``T`` raises; in ``'m'`` the sequence must have exactly ``T`` steps (and leaves
    ``t = T``).

    Args:
        T: number of time steps.
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in torch's BatchNorm.
        step_mode: ``'s'`` or ``'m'`` (the mode of this module).
    """

    bn_class: ClassVar[type[nn.Module]] = _AnyRankBatchNorm
    keeps_child_step_mode = True

    def __init__(
        self,
        T: int,
        num_features: int,
        eps: float = 1e-05,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        self.T = positive_int(type(self).__name__, "T", T)
        self.bn = self.bn_class(num_features, eps, momentum, affine, track_running_stats)
        layout = self.bn.layout
        ranks = layout.accepted_ranks(multi_step=True)
        # Accepted multi-step ranks, for the quick test before the full check.
        self._multi_step_ranks = range(min(ranks), 64) if layout.open_ended else range(min(ranks), max(ranks) + 1)
        self.scale = nn.Parameter(torch.ones(self.T))
        self.register_memory("t", 0)
        self.step_mode = step_mode

    @property
    def k(self) -> nn.Parameter:
        """The per-step scale ``[T]`` (the parameter ``scale``)."""
        return self.scale

    def _check(self, x: torch.Tensor, multi_step: bool) -> None:
        self.bn.layout.check(self, x, multi_step, self.bn.num_features)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Step ``t`` (steps since reset): ``[N, C, *] -> scale[t] * BN(x)``."""
        self._check(x, False)
        x = floating_input(self, x, self.scale)
        t = self.t
        if t >= self.T:
            raise ValueError(
                f"{type(self).__name__} (step_mode='s'): step {t + 1} is past T={self.T}; "
                "call spikelayers.functional.reset_net(net) between sequences"
            )
        y = tebn_forward(self.bn, self.scale[t : t + 1], x.unsqueeze(0)).squeeze(0)
        self.t = t + 1
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, *] -> [T, N, C, *]``; the sequence must have ``T`` steps."""
        bn = self.bn
        T = self.T
        if not (
            isinstance(x_seq, torch.Tensor)
            and x_seq.dim() in self._multi_step_ranks
            and x_seq.shape[0] == T
            and x_seq.shape[2] == bn.num_features
        ):
            self._check(x_seq, True)
            raise ValueError(
                f"{type(self).__name__} (step_mode='m') expects a sequence of T={T} steps, "
                f"got shape {tuple(x_seq.shape)}"
            )
        y = tebn_forward(bn, self.scale, floating_input(self, x_seq, self.scale))
        self.t = T
        return y

    def extra_repr(self) -> str:
        return f"T={self.T}, {super().extra_repr()}"


class TemporalEffectiveBatchNorm1d(TemporalEffectiveBatchNormNd):
    """TEBN for ``[N, C]`` or ``[N, C, L]`` per step (``[T, N, C]`` or ``[T, N, C, L]`` in ``'m'``).

    Args:
        T: number of time steps.
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm1d`.
        step_mode: ``'s'`` or ``'m'``.
    """

    bn_class = BatchNorm1d


class TemporalEffectiveBatchNorm2d(TemporalEffectiveBatchNormNd):
    """TEBN for ``[N, C, H, W]`` per step (``[T, N, C, H, W]`` in ``'m'``).

    Args:
        T: number of time steps.
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm2d`.
        step_mode: ``'s'`` or ``'m'``.
    """

    bn_class = BatchNorm2d


class TemporalEffectiveBatchNorm3d(TemporalEffectiveBatchNormNd):
    """TEBN for ``[N, C, D, H, W]`` per step (``[T, N, C, D, H, W]`` in ``'m'``).

    Args:
        T: number of time steps.
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm3d`.
        step_mode: ``'s'`` or ``'m'``.
    """

    bn_class = BatchNorm3d
