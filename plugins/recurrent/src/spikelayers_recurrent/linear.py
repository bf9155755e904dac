"""LinearRecurrentContainer: ``y[t] = sub_module(L(cat(x[t], y[t-1])))``."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.shapes import check_min_dim, floating_input
from spikelayers.validators import positive_int

from ._common import RecurrentContainer


class LinearRecurrentContainer(RecurrentContainer):
    """Wrap ``sub_module`` with a linear self-connection.

    With ``x[t]`` the container's input ``[N, *, in_features]`` and ``y[t]`` the
    sub-module's (and the container's) output ``[N, *, out_features]``::

        i[t] = rc(cat(x[t], y[t-1], dim=-1)),   y[t] = sub_module(i[t]),   y[-1] = 0

    where ``rc = nn.Linear(in_features + out_features, in_features, bias)``; so
    ``sub_module`` maps ``[N, *, in_features] -> [N, *, out_features]``.

    Shapes: ``[N, *, in_features] -> [N, *, out_features]`` in ``'s'``,
    ``[T, N, *, in_features] -> [T, N, *, out_features]`` in ``'m'``. The memory ``y``
    starts as zeros; an input step whose leading dims differ from the memory's (e.g. a
    new batch size) without :func:`spikelayers.functional.reset_net` raises
    :class:`spikelayers.errors.StateShapeError`.

    Args:
        sub_module: a module run one step at a time (kept in single-step mode).
        in_features: size of the last dim of the input.
        out_features: size of the last dim of the sub-module's output.
        bias: whether the recurrent linear layer ``rc`` learns an additive bias.
        step_mode: ``'s'`` (single step) or ``'m'`` (multi step).
    """

    min_sequence_dim = 3
    sequence_layout = "[T, N, *, in_features]"

    def __init__(
        self,
        sub_module: nn.Module,
        in_features: int,
        out_features: int,
        bias: bool = True,
        step_mode: str = "s",
    ) -> None:
        in_features = positive_int("LinearRecurrentContainer", "in_features", in_features)
        out_features = positive_int("LinearRecurrentContainer", "out_features", out_features)
        super().__init__(sub_module, step_mode)
        self.in_features = in_features
        self.out_features = out_features
        self.rc = nn.Linear(in_features + out_features, in_features, bias)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *, in_features] -> [N, *, out_features]``."""
        check_min_dim(self, x, 2, "[N, *, in_features]")
        self._check_features(x, "[N, *, in_features]")
        y_shape = torch.Size((*x.shape[:-1], self.out_features))
        x = floating_input(self, x, self.rc.weight)
        y_prev = self.memory_like("y", x, y_shape, store=False)
        y = self.sub_module(self.rc(torch.cat((x, y_prev.to(x.dtype)), dim=-1)))
        self.y = self._check_output(y, y_shape, "[N, *, out_features]")
        return self.y

    def _step_output_shape(self, step_shape: torch.Size) -> torch.Size:
        return torch.Size((*step_shape[:-1], self.out_features))

    def _check_sequence(self, x_seq: torch.Tensor) -> None:
        self._check_features(x_seq, self.sequence_layout)

    def _check_features(self, x: torch.Tensor, layout: str) -> None:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__} (step_mode={self.step_mode!r}) expects input {layout} with "
                f"in_features={self.in_features}, got shape {tuple(x.shape)}"
            )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.rc.bias is not None}, {super().extra_repr()}"
        )
