"""TemporalWiseAttention: one learned score per time step and sample."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import MultiStepModule
from spikelayers.shapes import check_dim, floating_input

from ._validation import positive_int, reduction_ratio
from .fused import temporal_wise_attention_fast

_LAYOUTS = {4: "[T, N, C, H, W]", 2: "[T, N, L]"}


class TemporalWiseAttention(MultiStepModule, nn.Module):
    """Temporal-wise attention (TA-SNN): scale each time step of each sample by a score.

    Per sample, the input is average- and max-pooled over every dim but ``T``; both
    ``[N, T]`` vectors pass through one shared MLP ``T -> T // reduction -> T`` (bias-free
    ``Linear`` layers with a ReLU between) and ``score = sigmoid(mlp(avg) + mlp(max))``.
    The output is ``x * score``, the score broadcast over the pooled dims. Place it after
    a convolution and before the spiking neurons.

    Multi-step only: input ``[T, N, C, H, W]`` (``dimension=4``) or ``[T, N, L]``
    (``dimension=2``), output of the same shape. Setting ``step_mode='s'`` raises
    ``ValueError``.

    Args:
        T: number of time steps of every input sequence.
        reduction: reduction ratio ``r`` of the MLP's hidden layer, ``1 <= r <= T``.
        dimension: 4 for ``[T, N, C, H, W]`` inputs, 2 for ``[T, N, L]``.
    """

    def __init__(self, T: int, reduction: int = 16, dimension: int = 4) -> None:
        super().__init__()
        name = type(self).__name__
        T = positive_int(name, "T", T)
        reduction = reduction_ratio(name, "reduction", reduction, "T", T)
        if isinstance(dimension, bool) or dimension not in _LAYOUTS:
            raise ValueError(f"{name}: dimension must be 4 ([T, N, C, H, W]) or 2 ([T, N, L]), got {dimension!r}")
        self.T = T
        self.reduction = reduction
        self.dimension = dimension
        self.sharedMLP = nn.Sequential(
            nn.Linear(T, T // reduction, bias=False),
            nn.ReLU(),
            nn.Linear(T // reduction, T, bias=False),
        )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W] -> [T, N, C, H, W]`` (or ``[T, N, L] -> [T, N, L]``)."""
        layout = _LAYOUTS[self.dimension]
        check_dim(self, x_seq, self.dimension + 1, layout)
        if x_seq.shape[0] != self.T:
            raise ValueError(
                f"{type(self).__name__} (step_mode='m') expects input {layout} with T={self.T}, "
                f"got shape {tuple(x_seq.shape)}"
            )
        x_seq = floating_input(self, x_seq, self.sharedMLP[0].weight)
        return temporal_wise_attention_fast(x_seq, self.sharedMLP[0].weight, self.sharedMLP[2].weight)

    def extra_repr(self) -> str:
        return f"T={self.T}, reduction={self.reduction}, dimension={self.dimension}, {super().extra_repr()}"
