"""A weight-standardised fully connected layer with step modes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spikelayers.shapes import floating_input
from spikelayers_stateless.linear import Linear

from .standardize import check_eps, check_fan_in, standardize_weight


class WSLinear(Linear):
    """A :class:`spikelayers.layer.Linear` whose weight is standardised per output feature.

    It is a ``layer.Linear`` (and a :class:`torch.nn.Linear`), so weight initialisation
    written as ``isinstance(m, layer.Linear)`` reaches it; ``state_dict`` keys are
    ``weight``, ``bias`` and ``gain``.

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
        super().__init__(in_features, out_features, bias, step_mode)
        check_fan_in(type(self).__name__, self.weight)
        self.eps = check_eps(type(self).__name__, eps)
        if gain:
            self.gain = nn.Parameter(torch.ones(out_features, 1))
        else:
            self.register_parameter("gain", None)

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
        self.input_layout().check(self, x, self.step_mode == "m")
        return F.linear(floating_input(self, x, self.weight), self.get_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gain={self.gain is not None}, eps={self.eps}"
