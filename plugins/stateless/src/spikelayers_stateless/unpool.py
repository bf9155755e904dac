"""Max unpooling with step modes (the inverse of a max pool that returned its indices).

One step is torch's unpooling of ``[N, C, *spatial]`` (or unbatched ``[C, *spatial]``).
A sequence ``[T, N, C, *spatial]`` and its indices (same shape) are folded into one
batch, unpooled in one call and unfolded to ``[T, N, C, *spatial_out]``. ``output_size``
is passed to torch unchanged, so it is either the spatial size or the folded full size
``[T * N, C, *spatial_out]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from spikelayers.base import StepModule

from .folding import Layout, spatial_layout

_IntOrTuple = int | tuple[int, ...]


class _StepMaxUnpool(StepModule):
    """Mixin, listed before a torch ``MaxUnpoolNd`` in the bases, that gives it step modes."""

    layout: ClassVar[Layout]

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int] | None = None) -> torch.Tensor:
        """``[N, C, *]`` in ``'s'``; ``[T, N, C, *]`` in ``'m'`` (``indices`` shaped like ``x``)."""
        multi_step = self.step_mode == "m"
        self.layout.check(self, x, multi_step)
        if not multi_step:
            return super().forward(x, indices, output_size)
        if not isinstance(indices, torch.Tensor) or indices.shape != x.shape:
            got = tuple(indices.shape) if isinstance(indices, torch.Tensor) else type(indices).__name__
            raise ValueError(
                f"{type(self).__name__} (step_mode='m') expects indices shaped like x {tuple(x.shape)}, got {got}"
            )
        folded = super().forward(x.flatten(0, 1), indices.flatten(0, 1), output_size)
        return folded.unflatten(0, x.shape[:2])


class MaxUnpool1d(_StepMaxUnpool, nn.MaxUnpool1d):
    """:class:`torch.nn.MaxUnpool1d` with step modes.

    ``forward(x, indices, output_size=None)``: ``x`` and ``indices`` ``[N, C, L]`` or
    ``[C, L]`` in ``'s'``, ``[T, N, C, L]`` in ``'m'``.

    Args:
        kernel_size, stride, padding: as in :class:`torch.nn.MaxUnpool1d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(1)


class MaxUnpool2d(_StepMaxUnpool, nn.MaxUnpool2d):
    """:class:`torch.nn.MaxUnpool2d` with step modes.

    ``forward(x, indices, output_size=None)``: ``x`` and ``indices`` ``[N, C, H, W]`` or
    ``[C, H, W]`` in ``'s'``, ``[T, N, C, H, W]`` in ``'m'``.

    Args:
        kernel_size, stride, padding: as in :class:`torch.nn.MaxUnpool2d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(2)


class MaxUnpool3d(_StepMaxUnpool, nn.MaxUnpool3d):
    """:class:`torch.nn.MaxUnpool3d` with step modes.

    ``forward(x, indices, output_size=None)``: ``x`` and ``indices`` ``[N, C, D, H, W]``
    or ``[C, D, H, W]`` in ``'s'``, ``[T, N, C, D, H, W]`` in ``'m'``.

    Args:
        kernel_size, stride, padding: as in :class:`torch.nn.MaxUnpool3d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(3)
