"""An exponentially decaying trace of its input."""

from __future__ import annotations

import torch

from spikelayers.base import MemoryModule
from spikelayers.shapes import check_min_dim


class ExponentialTrace(MemoryModule):
    """``tr[t] = decay * tr[t-1] + x[t]``, starting from ``tr = 0``.

    Args:
        decay: the factor in ``[0, 1)`` applied to the trace every step.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
    """

    def __init__(self, decay: float = 0.9, step_mode: str = "s") -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ExponentialTrace: decay must be in [0, 1), got {decay!r}")
        self.decay = decay
        self.register_memory("trace", 0.0)
        self.step_mode = step_mode

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        check_min_dim(self, x, 1, "[N, *]")
        self.trace = self.memory_like("trace", x) * self.decay + x
        return self.trace

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        return super().multi_step_forward(x_seq)

    def extra_repr(self) -> str:
        return f"decay={self.decay}, {super().extra_repr()}"
