"""Convolutions and transposed convolutions with step modes.

Each class is the torch layer of the same name (``isinstance`` holds and torch
``state_dict`` checkpoints load unchanged) plus a step mode. One step is
``[N, C, *spatial]`` (or unbatched ``[C, *spatial]``); a sequence ``[T, N, C, *spatial]``
is folded into the batch and convolved in one call.
"""

from __future__ import annotations

from torch import nn

from .folding import FoldedLayer, spatial_layout

_IntOrTuple = int | tuple[int, ...]


class Conv1d(FoldedLayer, nn.Conv1d):
    """:class:`torch.nn.Conv1d` with step modes.

    Input ``[N, C, L]`` or ``[C, L]`` in ``'s'``; ``[T, N, C, L]`` in ``'m'``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode: as in :class:`torch.nn.Conv1d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(1, feature_attr="in_channels")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple = 1,
        padding: str | _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        step_mode: str = "s",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)
        self.step_mode = step_mode


class Conv2d(FoldedLayer, nn.Conv2d):
    """:class:`torch.nn.Conv2d` with step modes.

    Input ``[N, C, H, W]`` or ``[C, H, W]`` in ``'s'``; ``[T, N, C, H, W]`` in ``'m'``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode: as in :class:`torch.nn.Conv2d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(2, feature_attr="in_channels")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple = 1,
        padding: str | _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        step_mode: str = "s",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)
        self.step_mode = step_mode


class Conv3d(FoldedLayer, nn.Conv3d):
    """:class:`torch.nn.Conv3d` with step modes.

    Input ``[N, C, D, H, W]`` or ``[C, D, H, W]`` in ``'s'``; ``[T, N, C, D, H, W]`` in ``'m'``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode: as in :class:`torch.nn.Conv3d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(3, feature_attr="in_channels")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple = 1,
        padding: str | _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        step_mode: str = "s",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)
        self.step_mode = step_mode


class ConvTranspose1d(FoldedLayer, nn.ConvTranspose1d):
    """:class:`torch.nn.ConvTranspose1d` with step modes.

    Input ``[N, C, L]`` or ``[C, L]`` in ``'s'``; ``[T, N, C, L]`` in ``'m'``. The
    optional ``output_size`` of ``forward`` passes through to torch.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation, padding_mode: as in :class:`torch.nn.ConvTranspose1d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(1, feature_attr="in_channels")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple = 1,
        padding: _IntOrTuple = 0,
        output_padding: _IntOrTuple = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: _IntOrTuple = 1,
        padding_mode: str = "zeros",
        step_mode: str = "s",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
        )
        self.step_mode = step_mode


class ConvTranspose2d(FoldedLayer, nn.ConvTranspose2d):
    """:class:`torch.nn.ConvTranspose2d` with step modes.

    Input ``[N, C, H, W]`` or ``[C, H, W]`` in ``'s'``; ``[T, N, C, H, W]`` in ``'m'``.
    The optional ``output_size`` of ``forward`` passes through to torch.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation, padding_mode: as in :class:`torch.nn.ConvTranspose2d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(2, feature_attr="in_channels")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple = 1,
        padding: _IntOrTuple = 0,
        output_padding: _IntOrTuple = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int = 1,
        padding_mode: str = "zeros",
        step_mode: str = "s",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
        )
        self.step_mode = step_mode


class ConvTranspose3d(FoldedLayer, nn.ConvTranspose3d):
    """:class:`torch.nn.ConvTranspose3d` with step modes.

    Input ``[N, C, D, H, W]`` or ``[C, D, H, W]`` in ``'s'``; ``[T, N, C, D, H, W]`` in
    ``'m'``. The optional ``output_size`` of ``forward`` passes through to torch.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation, padding_mode: as in :class:`torch.nn.ConvTranspose3d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = spatial_layout(3, feature_attr="in_channels")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrTuple,
        stride: _IntOrTuple = 1,
        padding: _IntOrTuple = 0,
        output_padding: _IntOrTuple = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: _IntOrTuple = 1,
        padding_mode: str = "zeros",
        step_mode: str = "s",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
        )
        self.step_mode = step_mode
