"""Threshold-dependent BatchNorm (tdBN): BatchNorm over ``T`` and ``N`` together,
its affine weight initialised to ``alpha * v_th``. Multi-step only.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ._layout import LAYOUT_1D, LAYOUT_2D, LAYOUT_3D
from .batchnorm import FoldedNorm


class ThresholdDependentNorm(FoldedNorm):
    """Mixin of the tdBN classes (listed before a torch BatchNorm in the bases)."""

    step_modes = ("m",)

    def __init__(self, alpha: float, v_th: float, *args: Any, **kwargs: Any) -> None:
        step_mode = kwargs.pop("step_mode", "m")
        super().__init__(*args, **kwargs)
        if not self.affine:
            raise ValueError(f"{type(self).__name__}: affine must be True (tdBN scales by alpha * v_th)")
        self.alpha = alpha
        self.v_th = v_th
        nn.init.constant_(self.weight, alpha * v_th)
        nn.init.zeros_(self.bias)
        self.step_mode = step_mode

    @property
    def step_mode(self) -> str:
        return "m"

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        if value != "m":
            raise ValueError(
                f"{type(self).__name__} works in multi-step mode only: it normalises over T and N "
                f"together, so step_mode must be 'm', got {value!r}"
            )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, v_th={self.v_th}, {super().extra_repr()}"


class ThresholdDependentBatchNorm1d(ThresholdDependentNorm, nn.BatchNorm1d):
    """tdBN for ``[T, N, C]`` or ``[T, N, C, L]``.

    Args:
        alpha: network-dependent factor of the initial weight ``alpha * v_th``.
        v_th: firing threshold of the neurons that follow.
        args, kwargs: the positional and keyword arguments of :class:`torch.nn.BatchNorm1d` (``affine`` must be true).
    """

    layout = LAYOUT_1D

    def __init__(self, alpha: float, v_th: float, *args: Any, **kwargs: Any) -> None:
        super().__init__(alpha, v_th, *args, **kwargs)


class ThresholdDependentBatchNorm2d(ThresholdDependentNorm, nn.BatchNorm2d):
    """tdBN for ``[T, N, C, H, W]``.

    Args:
        alpha: network-dependent factor of the initial weight ``alpha * v_th``.
        v_th: firing threshold of the neurons that follow.
        args, kwargs: the positional and keyword arguments of :class:`torch.nn.BatchNorm2d` (``affine`` must be true).
    """

    layout = LAYOUT_2D

    def __init__(self, alpha: float, v_th: float, *args: Any, **kwargs: Any) -> None:
        super().__init__(alpha, v_th, *args, **kwargs)


class ThresholdDependentBatchNorm3d(ThresholdDependentNorm, nn.BatchNorm3d):
    """tdBN for ``[T, N, C, D, H, W]``.

    Args:
        alpha: network-dependent factor of the initial weight ``alpha * v_th``.
        v_th: firing threshold of the neurons that follow.
        args, kwargs: the positional and keyword arguments of :class:`torch.nn.BatchNorm3d` (``affine`` must be true).
    """

    layout = LAYOUT_3D

    def __init__(self, alpha: float, v_th: float, *args: Any, **kwargs: Any) -> None:
        super().__init__(alpha, v_th, *args, **kwargs)
