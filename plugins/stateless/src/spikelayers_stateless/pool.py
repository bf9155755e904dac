"""Max, average and adaptive-average pooling with step modes.

Each class is the torch layer of the same name plus a step mode. One step is
``[N, C, *spatial]`` (or unbatched ``[C, *spatial]``); a sequence
``[T, N, C, *spatial]`` is folded into the batch and pooled in one call.

With ``return_indices=True`` a max pool returns ``(output, indices)`` in both modes;
in ``'m'`` both are unfolded to ``[T, N, C, *spatial']``. The indices point into each
sample's own spatial plane, so they equal the indices of a per-step call and feed
:class:`torch.nn.MaxUnpool2d` (and friends) step by step or folded.
"""

from __future__ import annotations

from torch import nn

from .folding import FoldedLayer, spatial_layout

_IntOrTuple = int | tuple[int, ...]


class MaxPool1d(FoldedLayer, nn.MaxPool1d):
    """:class:`torch.nn.MaxPool1d` with step modes.

    Input ``[N, C, L]`` or ``[C, L]`` in ``'s'``; ``[T, N, C, L]`` in ``'m'``.

    Args:
        kernel_size, stride, padding, dilation, return_indices, ceil_mode: as in
            :class:`torch.nn.MaxPool1d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(1)

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class MaxPool2d(FoldedLayer, nn.MaxPool2d):
    """:class:`torch.nn.MaxPool2d` with step modes.

    Input ``[N, C, H, W]`` or ``[C, H, W]`` in ``'s'``; ``[T, N, C, H, W]`` in ``'m'``.

    Args:
        kernel_size, stride, padding, dilation, return_indices, ceil_mode: as in
            :class:`torch.nn.MaxPool2d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(2)

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class MaxPool3d(FoldedLayer, nn.MaxPool3d):
    """:class:`torch.nn.MaxPool3d` with step modes.

    Input ``[N, C, D, H, W]`` or ``[C, D, H, W]`` in ``'s'``; ``[T, N, C, D, H, W]`` in ``'m'``.

    Args:
        kernel_size, stride, padding, dilation, return_indices, ceil_mode: as in
            :class:`torch.nn.MaxPool3d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(3)

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        self.step_mode = step_mode


class AvgPool1d(FoldedLayer, nn.AvgPool1d):
    """:class:`torch.nn.AvgPool1d` with step modes.

    Input ``[N, C, L]`` or ``[C, L]`` in ``'s'``; ``[T, N, C, L]`` in ``'m'``.

    Args:
        kernel_size, stride, padding, ceil_mode, count_include_pad: as in
            :class:`torch.nn.AvgPool1d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(1)

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.step_mode = step_mode


class AvgPool2d(FoldedLayer, nn.AvgPool2d):
    """:class:`torch.nn.AvgPool2d` with step modes.

    Input ``[N, C, H, W]`` or ``[C, H, W]`` in ``'s'``; ``[T, N, C, H, W]`` in ``'m'``.

    Args:
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override: as
            in :class:`torch.nn.AvgPool2d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(2)

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.step_mode = step_mode


class AvgPool3d(FoldedLayer, nn.AvgPool3d):
    """:class:`torch.nn.AvgPool3d` with step modes.

    Input ``[N, C, D, H, W]`` or ``[C, D, H, W]`` in ``'s'``; ``[T, N, C, D, H, W]`` in ``'m'``.

    Args:
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override: as
            in :class:`torch.nn.AvgPool3d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(3)

    def __init__(
        self,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple | None = None,
        padding: _IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.step_mode = step_mode


class AdaptiveAvgPool1d(FoldedLayer, nn.AdaptiveAvgPool1d):
    """:class:`torch.nn.AdaptiveAvgPool1d` with step modes.

    Input ``[N, C, L]`` or ``[C, L]`` in ``'s'``; ``[T, N, C, L]`` in ``'m'``.

    Args:
        output_size: as in :class:`torch.nn.AdaptiveAvgPool1d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(1)

    def __init__(self, output_size: int | tuple[int], step_mode: str = "s") -> None:
        super().__init__(output_size)
        self.step_mode = step_mode


class AdaptiveAvgPool2d(FoldedLayer, nn.AdaptiveAvgPool2d):
    """:class:`torch.nn.AdaptiveAvgPool2d` with step modes.

    Input ``[N, C, H, W]`` or ``[C, H, W]`` in ``'s'``; ``[T, N, C, H, W]`` in ``'m'``.

    Args:
        output_size: as in :class:`torch.nn.AdaptiveAvgPool2d` (``None`` keeps a size).
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(2)

    def __init__(self, output_size: int | tuple[int | None, ...] | None, step_mode: str = "s") -> None:
        super().__init__(output_size)
        self.step_mode = step_mode


class AdaptiveAvgPool3d(FoldedLayer, nn.AdaptiveAvgPool3d):
    """:class:`torch.nn.AdaptiveAvgPool3d` with step modes.

    Input ``[N, C, D, H, W]`` or ``[C, D, H, W]`` in ``'s'``; ``[T, N, C, D, H, W]`` in ``'m'``.

    Args:
        output_size: as in :class:`torch.nn.AdaptiveAvgPool3d` (``None`` keeps a size).
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(3)

    def __init__(self, output_size: int | tuple[int | None, ...] | None, step_mode: str = "s") -> None:
        super().__init__(output_size)
        self.step_mode = step_mode
