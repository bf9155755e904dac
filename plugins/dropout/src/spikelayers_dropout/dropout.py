"""Dropout whose mask holds for a whole sequence (``Dropout``, ``Dropout2d``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spikelayers.base import MemoryModule
from spikelayers.errors import StateShapeError
from spikelayers.kernels import get_kernel, prepare
from spikelayers.shapes import check_min_dim
from spikelayers.validators import probability

SEEDED_OP = "dropout.seeded"


@dataclass(frozen=True)
class SeededMask:
    """A mask kept as its seed (the ``'triton'`` backend): the mask of one step ``shape``
    is :func:`~spikelayers_dropout.seeded_reference.seeded_keep_mask` of ``seed``."""

    seed: int
    shape: tuple[int, ...]


def draw_seed() -> int:
    """A mask seed in ``[0, 2**63 - 1)`` from torch's default generator (so ``torch.manual_seed`` fixes it)."""
    return int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))


class Dropout(MemoryModule):
    """Dropout with one mask per sequence.

    In training, the mask is drawn at the first step after a reset, shaped like one
    step's input ``[N, *]``: each element is kept with probability ``1 - p`` and then
    scaled by ``1 / (1 - p)``. The same mask multiplies every later step (every ``t``
    of a multi-step input ``[T, N, *]``) until ``reset()``, which makes the next step
    draw a new one. In eval mode the layer is the identity.

    Backends: ``'torch'`` keeps the mask as the tensor memory ``mask``. ``'triton'``
    keeps only its seed (the memory ``seeded_mask``, a :class:`SeededMask`) and
    regenerates the mask inside the kernel (op ``"dropout.seeded"``), in the forward and
    again in the backward, so the mask is neither stored nor read from memory. The two
    backends draw different masks; switch between sequences.

    Args:
        p: probability of an element to be zeroed, ``0 <= p < 1``.
        step_mode: ``'s'`` (single-step, ``[N, *]``) or ``'m'`` (multi-step, ``[T, N, *]``).
    """

    supported_backends = ("torch", "triton")
    step_layout = "[N, *]"
    step_min_dim = 1

    def __init__(self, p: float = 0.5, step_mode: str = "s") -> None:
        super().__init__()
        self.p = probability(type(self).__name__, "p", p, include_one=False)
        self.register_memory("mask", None)
        self.register_memory("seeded_mask", None)
        self.step_mode = step_mode
        prepare(SEEDED_OP, self.backend)  # import the kernels now, not in the first (maybe compiled) forward

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

    def _seeded_mask_for(self, step: torch.Tensor) -> SeededMask:
        shape = self.mask_shape(step)
        if self.seeded_mask is None:
            self.seeded_mask = SeededMask(draw_seed(), shape)
        elif self.seeded_mask.shape != shape:
            raise StateShapeError(
                f"{type(self).__name__}: the seeded mask has shape {self.seeded_mask.shape} but this input "
                f"needs {shape}; the input shape changed (e.g. a new batch size) without a reset. Call "
                "spikelayers.functional.reset_net(net) between sequences."
            )
        return self.seeded_mask

    def _apply_mask(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, *]`` times the sequence's mask, with the layer's backend."""
        if self.backend == "torch":
            return x_seq * self._mask_for(x_seq[0])
        if not x_seq.is_floating_point():
            x_seq = x_seq.to(torch.get_default_dtype())
        kernel = get_kernel(SEEDED_OP, self.backend, x_seq.device)  # first: a backend that cannot run changes no state
        mask = self._seeded_mask_for(x_seq[0])
        mask_numel = math.prod(mask.shape)
        group = math.prod(x_seq.shape[1:]) // mask_numel if mask_numel else 1
        return kernel(x_seq, mask.seed, self.p, group)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step, ``[N, *] -> [N, *]``."""
        check_min_dim(self, x, self.step_min_dim, self.step_layout)
        if not self.training or self.p == 0.0:
            return x
        return self._apply_mask(x.unsqueeze(0))[0]

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence, ``[T, N, *] -> [T, N, *]``; one multiply with the broadcast mask."""
        check_min_dim(self, x_seq, self.step_min_dim + 1, "[T, " + self.step_layout[1:])
        if not self.training or self.p == 0.0 or x_seq.shape[0] == 0:
            return x_seq
        return self._apply_mask(x_seq)


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
