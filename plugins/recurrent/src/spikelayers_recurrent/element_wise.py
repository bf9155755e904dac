"""ElementWiseRecurrentContainer: ``y[t] = sub_module(f(x[t], y[t-1]))``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikelayers.shapes import floating_input

from ._common import RecurrentContainer


class ElementWiseRecurrentContainer(RecurrentContainer):
    """Wrap ``sub_module`` with an element-wise self-connection.

    With ``x[t]`` the container's input and ``y[t]`` the sub-module's (and the
    container's) output::

        y[t] = sub_module(element_wise_function(x[t], y[t-1])),   y[-1] = 0

    ``element_wise_function`` is called as ``f(x, y)``: the input first, the fed-back
    output second, as the formula reads.

    Shapes: ``[N, *] -> [N, *]`` in ``'s'``, ``[T, N, *] -> [T, N, *]`` in ``'m'``; the
    sub-module must keep the shape of its input. The memory ``y`` starts as zeros like
    the first input step; a later step of another shape (e.g. a new batch size) without
    :func:`spikelayers.functional.reset_net` raises
    :class:`spikelayers.errors.StateShapeError`.

    Args:
        sub_module: a module run one step at a time (kept in single-step mode).
        element_wise_function: ``z = f(x, y)``, element-wise over tensors of one shape.
        step_mode: ``'s'`` (single step) or ``'m'`` (multi step).
    """

    def __init__(
        self,
        sub_module: nn.Module,
        element_wise_function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        step_mode: str = "s",
    ) -> None:
        super().__init__(sub_module, step_mode)
        self.element_wise_function = element_wise_function

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *] -> [N, *]``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a tensor [N, *], got {type(x).__name__}")
        x = floating_input(self, x)
        y_prev = self.memory_like("y", x, store=False)
        y = self.sub_module(self.element_wise_function(x, y_prev))
        self.y = self._check_output(y, x.shape, "[N, *] (the shape of its input)")
        return self.y

    def extra_repr(self) -> str:
        return f"element_wise_function={self.element_wise_function}, {super().extra_repr()}"
