"""Modules for NIR nodes that no layer family has: sum pooling and a bare threshold."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spikelayers.base import StepModule
from spikelayers.shapes import check_dim, check_min_dim


class SumPool2d(StepModule, nn.Module):
    """Sum over each pooling window (zero padding): ``[N, C, H, W] -> [N, C, H', W']`` in
    ``'s'``, ``[T, N, C, H, W] -> [T, N, C, H', W']`` in ``'m'``.

    Args:
        kernel_size, stride, padding: ``(height, width)`` pairs.
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(
        self,
        kernel_size: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[int, int] = (0, 0),
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.stride = tuple(int(s) for s in stride)
        self.padding = tuple(int(p) for p in padding)
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Window sums; see the class docstring for shapes."""
        multi_step = self.step_mode == "m"
        check_dim(self, x, 5 if multi_step else 4, "[T, N, C, H, W]" if multi_step else "[N, C, H, W]")
        flat = x.flatten(0, 1) if multi_step else x
        y = F.avg_pool2d(flat, self.kernel_size, self.stride, self.padding, divisor_override=1)
        return y.unflatten(0, x.shape[:2]) if multi_step else y

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, step_mode={self.step_mode}"
        )


class Threshold(StepModule, nn.Module):
    """Heaviside of ``x - threshold``, strict as in NIR: ``1`` where ``x > threshold``, else ``0``.

    ``threshold`` has one sample's shape ``[*]`` (or is a scalar) and broadcasts over
    ``[N, *]`` in ``'s'`` and ``[T, N, *]`` in ``'m'``. The output has the input's dtype.
    """

    def __init__(self, threshold: torch.Tensor, step_mode: str = "s") -> None:
        super().__init__()
        self.register_buffer("threshold", torch.as_tensor(threshold).clone())
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(x > threshold)`` as ``x.dtype``; shapes as in the class docstring."""
        check_min_dim(self, x, self.threshold.dim() + (2 if self.step_mode == "m" else 1), "[T, N, *]")
        return (x > self.threshold).to(x.dtype)
