"""A weight-standardised 2-D convolution with step modes."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.shapes import floating_input, fold, unfold
from spikelayers_stateless.conv import Conv2d

from .standardize import check_eps, check_fan_in, standardize_weight

_IntOrPair = int | tuple[int, int]


class WSConv2d(Conv2d):
    """A :class:`spikelayers.layer.Conv2d` whose weight is standardised per output channel.

    It is a ``layer.Conv2d`` (and a :class:`torch.nn.Conv2d`), so weight initialisation
    written as ``isinstance(m, layer.Conv2d)`` reaches it; ``state_dict`` keys are
    ``weight``, ``bias`` and ``gain``.

    On each forward the kernel used is
    ``W_hat = gain * (W - mean) / sqrt(var * fan_in + eps)``, with the mean and the
    unbiased variance taken over each output channel's ``fan_in = C_in / groups * kH * kW``
    weights, and ``gain`` a learnable ``[C_out, 1, 1, 1]`` (initially ones; absent when
    ``gain=False``). Every :class:`torch.nn.Conv2d` argument is honoured, ``padding_mode``
    included.

    Input ``[N, C, H, W]`` or ``[C, H, W]`` in ``'s'``; ``[T, N, C, H, W]`` in ``'m'``,
    folded into the batch so that ``W_hat`` is computed once per call, not per step.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode: as in :class:`torch.nn.Conv2d`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
        gain: whether to learn a per-channel scale of the standardised weight.
        eps: a non-negative number added under the square root.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _IntOrPair,
        stride: _IntOrPair = 1,
        padding: str | _IntOrPair = 0,
        dilation: _IntOrPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        step_mode: str = "s",
        gain: bool = True,
        eps: float = 0.0001,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, step_mode
        )
        check_fan_in(type(self).__name__, self.weight)
        self.eps = check_eps(type(self).__name__, eps)
        if gain:
            self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1))
        else:
            self.register_parameter("gain", None)

    def reset_parameters(self) -> None:
        """Reinitialise weight and bias as torch does, and the gain to ones."""
        super().reset_parameters()
        if getattr(self, "gain", None) is not None:
            nn.init.ones_(self.gain)

    def get_weight(self) -> torch.Tensor:
        """The standardised kernel ``[C_out, C_in / groups, kH, kW]`` used by the forward."""
        return standardize_weight(self.weight, self.gain, self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W] -> [N, C', H', W']`` in ``'s'``; ``[T, N, C, H, W] -> [T, N, C', H', W']`` in ``'m'``."""
        multi_step = self.step_mode == "m"
        self.input_layout().check(self, x, multi_step)
        x = floating_input(self, x, self.weight)
        weight = self.get_weight()
        if not multi_step:
            return self._conv_forward(x, weight, self.bias)
        return unfold(self._conv_forward(fold(x), weight, self.bias), x.shape[:2])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gain={self.gain is not None}, eps={self.eps}"
