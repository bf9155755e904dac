"""Torch normalisation layers with step modes: BatchNorm1d/2d/3d and GroupNorm.

In ``'s'`` they are the torch layers on one step ``[N, C, *]``. In ``'m'`` they fold
``T`` into the batch, ``[T, N, C, *] -> [T*N, C, *]``, apply the torch layer once and
unfold, so BatchNorm statistics are taken over ``T`` and ``N`` together.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from spikelayers.base import StepModule
from spikelayers.batch_statistics import batch_norm_forward
from spikelayers.shapes import Layout, floating_input, fold, unfold

from ._layout import LAYOUT_1D, LAYOUT_2D, LAYOUT_3D, LAYOUT_ND


class FoldedNorm(StepModule):
    """Mixin for a torch normalisation layer (listed after it in the bases) that folds ``T``.

    Subclasses set ``layout`` and ``channels_attr`` (the attribute holding ``C``).
    """

    layout: ClassVar[Layout]
    channels_attr: ClassVar[str] = "num_features"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, *] -> [N, C, *]`` in ``'s'``; ``[T, N, C, *] -> [T, N, C, *]`` in ``'m'``."""
        multi_step = self.step_mode == "m"
        self.layout.check(self, x, multi_step, getattr(self, self.channels_attr), self.channels_attr)
        if not x.is_floating_point():
            x = floating_input(self, x, *self.parameters(recurse=False), *self.buffers(recurse=False))
        if not multi_step:
            return self._normalise(x)
        return unfold(self._normalise(fold(x)), x.shape[:2])

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        """The torch layer's forward on ``[N, C, *]`` (a batch norm's through the faster batch statistics)."""
        if isinstance(self, _BatchNorm):
            return batch_norm_forward(x, self)
        return super().forward(x)


class BatchNorm1d(FoldedNorm, nn.BatchNorm1d):
    """:class:`torch.nn.BatchNorm1d` with step modes.

    Input ``[N, C]`` or ``[N, C, L]`` per step; ``[T, N, C]`` or ``[T, N, C, L]`` in
    ``'m'``, where statistics are taken over ``T`` and ``N`` together.

    Args:
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm1d`.
        step_mode: ``'s'`` or ``'m'``.
    """

    layout = LAYOUT_1D

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-05,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.step_mode = step_mode


class BatchNorm2d(FoldedNorm, nn.BatchNorm2d):
    """:class:`torch.nn.BatchNorm2d` with step modes.

    Input ``[N, C, H, W]`` per step; ``[T, N, C, H, W]`` in ``'m'``, where statistics
    are taken over ``T`` and ``N`` together.

    Args:
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm2d`.
        step_mode: ``'s'`` or ``'m'``.
    """

    layout = LAYOUT_2D

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-05,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.step_mode = step_mode


class BatchNorm3d(FoldedNorm, nn.BatchNorm3d):
    """:class:`torch.nn.BatchNorm3d` with step modes.

    Input ``[N, C, D, H, W]`` per step; ``[T, N, C, D, H, W]`` in ``'m'``, where
    statistics are taken over ``T`` and ``N`` together.

    Args:
        num_features: number of channels ``C``.
        eps, momentum, affine, track_running_stats: as in :class:`torch.nn.BatchNorm3d`.
        step_mode: ``'s'`` or ``'m'``.
    """

    layout = LAYOUT_3D

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-05,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.step_mode = step_mode


class GroupNorm(FoldedNorm, nn.GroupNorm):
    """:class:`torch.nn.GroupNorm` with step modes.

    Input ``[N, C, *]`` per step; ``[T, N, C, *]`` in ``'m'``. Each sample is
    normalised on its own, so both modes give the same result.

    Args:
        num_groups: number of groups the ``C`` channels are split into.
        num_channels: number of channels ``C``.
        eps, affine: as in :class:`torch.nn.GroupNorm`.
        step_mode: ``'s'`` or ``'m'``.
    """

    layout = LAYOUT_ND
    channels_attr = "num_channels"

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-05,
        affine: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(num_groups, num_channels, eps, affine)
        self.step_mode = step_mode
