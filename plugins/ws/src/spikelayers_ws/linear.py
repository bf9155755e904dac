"""A weight-standardised fully connected layer with step modes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spikelayers.base import StepModule
from spikelayers.shapes import check_min_dim

from .standardize import check_eps, check_fan_in, standardize_weight


class WSLinear(StepModule, nn.Linear):
    """:class:`torch.nn.Linear` whose weight is standardised per output feature.

    On each forward the matrix used is
    ``W_hat = gain * (W - mean) / sqrt(var * in_features + eps)``, with the mean and the
    unbiased variance of each row, and ``gain`` a learnable ``[out_features, 1]``
    (initially ones; absent when ``gain=False``).

    Input ``[N, *, in_features]`` in ``'s'``; ``[T, N, *, in_features]`` in ``'m'``. The
    product is taken over all leading dims at once, so ``W_hat`` is computed once per
    call, not per step.

    Args:
        in_features, out_features, bias: as in :class:`torch.nn.Linear`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
        gain: whether to learn a per-feature scale of the standardised weight.
        eps: a non-negative number added under the square root.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        step_mode: str = "s",
        gain: bool = True,
        eps: float = 0.0001,
    ) -> None:
        super().__init__(in_features, out_features, bias)
        check_fan_in(type(self).__name__, self.weight)
        self.eps = check_eps(type(self).__name__, eps)
        if gain:
            self.gain = nn.Parameter(torch.ones(out_features, 1))
        else:
            self.register_parameter("gain", None)
        self.step_mode = step_mode

    def reset_parameters(self) -> None:
        """Reinitialise weight and bias as torch does, and the gain to ones."""
        super().reset_parameters()
        if getattr(self, "gain", None) is not None:
            nn.init.ones_(self.gain)

    def get_weight(self) -> torch.Tensor:
        """The standardised matrix ``[out_features, in_features]`` used by the forward."""
        return standardize_weight(self.weight, self.gain, self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, *, in] -> [N, *, out]`` in ``'s'``; ``[T, N, *, in] -> [T, N, *, out]`` in ``'m'``."""
        multi_step = self.step_mode == "m"
        layout = "[T, N, *, in_features]" if multi_step else "[N, *, in_features]"
        check_min_dim(self, x, 3 if multi_step else 1, layout)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"WSLinear (step_mode={self.step_mode!r}) expects input {layout} with "
                f"in_features={self.in_features}, got shape {tuple(x.shape)}"
            )
        return F.linear(x, self.get_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gain={self.gain is not None}, eps={self.eps}"
