"""The delay line: ``y[t] = x[t - d]``."""

from __future__ import annotations

import torch

from spikelayers.base import MemoryModule
from spikelayers.shapes import check_min_dim
from spikelayers.validators import non_negative_int


class Delay(MemoryModule):
    """Delay the input by ``delay_steps`` time steps: ``y[t] = x[t - d]``, zeros for ``t < d``.

    The memory ``queue`` holds the last ``d`` inputs ``[d, N, *]`` (zeros after a
    reset). In single-step mode each call returns the oldest entry and pushes the new
    input; in multi-step mode the sequence ``[T, N, *]`` is shifted by ``d`` with the
    queue in front, and the queue keeps the last ``d`` steps. So a sequence fed in
    chunks, or shorter than ``d``, gives the same outputs as one call.

    Args:
        delay_steps: the delay ``d``, a non-negative int.
        step_mode: ``'s'`` (single-step) or ``'m'`` (multi-step).
        delay: keyword alias of ``delay_steps`` (the spelling of the reference's example).
    """

    def __init__(self, delay_steps: int | None = None, step_mode: str = "s", *, delay: int | None = None) -> None:
        super().__init__()
        if delay is not None and delay_steps is not None:
            raise TypeError("Delay: give delay_steps or its alias delay, not both")
        value = delay_steps if delay is None else delay
        if value is None:
            raise TypeError("Delay: missing the argument delay_steps")
        self._delay_steps = non_negative_int("Delay", "delay_steps", value)
        self.register_memory("queue", 0.0)
        self.step_mode = step_mode

    @property
    def delay_steps(self) -> int:
        """The delay ``d`` in time steps."""
        return self._delay_steps

    def extra_repr(self) -> str:
        return f"delay_steps={self.delay_steps}, {super().extra_repr()}"

    def _queue(self, step: torch.Tensor) -> torch.Tensor:
        """The queue ``[d, N, *]``, in the dtype of ``step`` promoted with the queue's (a
        dtype change mid-sequence gives the promoted result)."""
        queue = self.memory_like("queue", step, shape=(self.delay_steps, *step.shape), store=False)
        return queue.to(torch.promote_types(queue.dtype, step.dtype))

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step, ``[N, *] -> [N, *]``: the input of ``d`` steps ago."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Delay (step_mode='s') expects a tensor [N, *], got {type(x).__name__}")
        d = self.delay_steps
        if d == 0:
            return x
        queue = self._queue(x)
        out = queue[0]
        self.queue = torch.cat((queue[1:], x.unsqueeze(0)))
        return out

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence, ``[T, N, *] -> [T, N, *]``."""
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        d = self.delay_steps
        if d == 0:
            return x_seq
        T = x_seq.shape[0]
        if T == 0:
            return x_seq.clone()
        queue = self._queue(x_seq[0])
        if d <= T:
            out = torch.cat((queue, x_seq[: T - d]))
            self.queue = x_seq[T - d :].clone()
        else:
            out = queue[:T].clone()
            self.queue = torch.cat((queue[T:], x_seq))
        return out
