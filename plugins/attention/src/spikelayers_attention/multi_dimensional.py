"""MultiDimensionalAttention: temporal, channel and spatial attention in turn."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import MultiStepModule
from spikelayers.shapes import check_dim, floating_input

from ._validation import positive_int, reduction_ratio
from .fused import multi_dimensional_attention_fast

_LAYOUT = "[T, N, C, H, W]"


class PooledMLP(nn.Module):
    """The weights of one shared MLP ``size -> size // reduction -> size`` (no biases).

    Stored as 1x1x1 ``Conv3d`` layers in ``sharedMLP`` (indices 0 and 2, a ReLU between),
    the layout of the reference's checkpoints; :class:`MultiDimensionalAttention` applies
    them to pooled vectors.
    """

    def __init__(self, size: int, reduction: int) -> None:
        super().__init__()
        self.sharedMLP = nn.Sequential(
            nn.Conv3d(size, size // reduction, 1, bias=False),
            nn.ReLU(),
            nn.Conv3d(size // reduction, size, 1, bias=False),
        )

    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w1, w2)``, shaped ``[size // reduction, size, 1, 1, 1]`` and ``[size, size // reduction, 1, 1, 1]``."""
        return self.sharedMLP[0].weight, self.sharedMLP[2].weight


class SpatialConv(nn.Module):
    """The spatial attention's ``Conv2d(2, 1, kernel_size, same padding, no bias)`` weight holder."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)


class MultiDimensionalAttention(MultiStepModule, nn.Module):
    """Multi-dimensional attention (MA-SNN) over ``[T, N, C, H, W]``.

    In order, each stage multiplying the running output ``out`` (initially ``x``):

    1. temporal: per sample, average and max over ``C, H, W`` give two ``[N, T]``
       vectors; ``st = sigmoid(mlp_t(avg) + mlp_t(max))`` with the shared MLP
       ``T -> T // reduction_t -> T``;
    2. channel: per sample and channel, average and max over ``T, H, W``;
       ``sc = sigmoid(mlp_c(avg) + mlp_c(max))``, MLP ``C -> C // reduction_c -> C``;
    3. spatial: mean and max over all ``T * C`` maps form a 2-channel map; a bias-free
       ``Conv2d(2, 1, kernel_size)`` with same padding and a sigmoid give ``ss`` ``[N, H, W]``;

    then ``relu(out)``. The MLPs have no biases and a ReLU between their layers. Where
    several elements share a maximum, its gradient is shared evenly among them, the
    spatial map reduced first.

    Multi-step only: input and output ``[T, N, C, H, W]``; setting ``step_mode='s'`` raises
    ``ValueError``. The layer needs no dependency beyond PyTorch. Its forward computes
    every score from small pooled tensors and runs on blocks of samples, recomputing in
    backward, so that no full-size intermediate is stored.

    Args:
        T: number of time steps of every input sequence.
        C: number of channels.
        reduction_t: temporal reduction ratio, ``1 <= reduction_t <= T``.
        reduction_c: channel reduction ratio, ``1 <= reduction_c <= C``.
        kernel_size: spatial convolution kernel size, 3 or 7.
    """

    def __init__(self, T: int, C: int, reduction_t: int = 16, reduction_c: int = 16, kernel_size=3) -> None:
        super().__init__()
        name = type(self).__name__
        T = positive_int(name, "T", T)
        C = positive_int(name, "C", C)
        reduction_t = reduction_ratio(name, "reduction_t", reduction_t, "T", T)
        reduction_c = reduction_ratio(name, "reduction_c", reduction_c, "C", C)
        if isinstance(kernel_size, bool) or kernel_size not in (3, 7):
            raise ValueError(f"{name}: kernel_size must be 3 or 7, got {kernel_size!r}")
        self.T = T
        self.C = C
        self.kernel_size = kernel_size
        self.ta = PooledMLP(T, reduction_t)
        self.ca = PooledMLP(C, reduction_c)
        self.sa = SpatialConv(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W] -> [T, N, C, H, W]``."""
        check_dim(self, x, 5, _LAYOUT)
        if x.shape[0] != self.T or x.shape[2] != self.C:
            raise ValueError(
                f"{type(self).__name__} (step_mode='m') expects input {_LAYOUT} with T={self.T} and "
                f"C={self.C}, got shape {tuple(x.shape)}"
            )
        x = floating_input(self, x, self.sa.conv.weight)
        return multi_dimensional_attention_fast(x, *self.ta.weights(), *self.ca.weights(), self.sa.conv.weight)

    def extra_repr(self) -> str:
        return f"T={self.T}, C={self.C}, kernel_size={self.kernel_size}, {super().extra_repr()}"
