"""Dropout whose mask holds for a whole sequence (``Dropout``, ``Dropout2d``)."""

from __future__ import annotations

import torch

from spikelayers.base import MemoryModule
from spikelayers.shapes import check_min_dim


class Dropout(MemoryModule):
    """Dropout with one mask per sequence.

    In training, the mask is drawn at the first step after a reset, shaped like one
    step's input ``[N, *]``: each element is kept with probability ``1 - p`` and then
    scaled by ``1 / (1 - p)``. The same mask multiplies every later step (every ``t``
    of a multi-step input ``[T, N, *]``) until ``reset()``, which makes the next step
    draw a new one. In eval mode the layer is the identity.

    Args:
        p: probability of an element to be zeroed, ``0 <= p < 1``.
        step_mode: ``'s'`` (single-step, ``[N, *]``) or ``'m'`` (multi-step, ``[T, N, *]``).
    """

    step_layout = "[N, *]"
    step_min_dim = 1

    def __init__(self, p: float = 0.5, step_mode: str = "s") -> None:
        super().__init__()
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{type(self).__name__}: p must satisfy 0 <= p < 1, got {p}")
        self.p = p
        self.register_memory("mask", None)
        self.step_mode = step_mode

    def extra_repr(self) -> str:
        return f"p={self.p}, {super().extra_repr()}"

    def mask_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        """The mask's shape for one step ``x`` ``[N, *]``."""
        return tuple(x.shape)

    def create_mask(self, x: torch.Tensor) -> torch.Tensor:
        """Draw a scaled mask for the step ``x`` ``[N, *]`` and keep it as the memory ``mask``."""
        keep = 1.0 - self.p
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        # Uniform draws in [0, 1): an element is kept when its draw is at least p.
        mask = torch.rand(self.mask_shape(x), dtype=dtype, device=x.device).ge_(self.p).mul_(1.0 / keep)
        self.mask = mask
        return mask

    def _mask_for(self, step: torch.Tensor) -> torch.Tensor:
        if self.mask is None:
            return self.create_mask(step)
        return self.memory_like("mask", step, shape=self.mask_shape(step))

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step, ``[N, *] -> [N, *]``."""
        check_min_dim(self, x, self.step_min_dim, self.step_layout)
        if not self.training or self.p == 0.0:
            return x
        return x * self._mask_for(x)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence, ``[T, N, *] -> [T, N, *]``; one multiply with the broadcast mask."""
        check_min_dim(self, x_seq, self.step_min_dim + 1, "[T, " + self.step_layout[1:])
        if not self.training or self.p == 0.0 or x_seq.shape[0] == 0:
            return x_seq
        return x_seq * self._mask_for(x_seq[0])


class Dropout2d(Dropout):
    """Channel dropout with one mask per sequence.

    Like :class:`Dropout`, but the mask zeroes whole channels: one value per ``[n, c]``
    (shape ``[N, C, 1, ..., 1]``), broadcast over the spatial dims. A step is
    ``[N, C, *]``; a sequence ``[T, N, C, *]``.

    Args:
        p: probability of a channel to be zeroed, ``0 <= p < 1``.
        step_mode: ``'s'`` (single-step) or ``'m'`` (multi-step).
    """

    step_layout = "[N, C, *]"
    step_min_dim = 2

    def __init__(self, p: float = 0.2, step_mode: str = "s") -> None:
        super().__init__(p, step_mode)

    def mask_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        """``[N, C, 1, ..., 1]`` for one step ``x`` ``[N, C, *]``."""
        return (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
