"""Spike counts and binary event slots: expanding counts into slots and summing slots back.

A count ``c`` in ``[0, S]`` becomes ``S`` binary slots of which the first ``c`` are 1
(:class:`SpikeCountToBinary`); :class:`TemporalBinSum` adds every ``S`` consecutive
steps back into one. Between the two, a bias-free linear map sees only binary spikes
yet computes exactly what it would on the counts, forward and backward.

Both layers are multi-step only, with time first (``[T, N, *]``). They act when
``always_convert`` is set or in eval mode; in training mode without ``always_convert``
they return their input unchanged. An empty sequence (``T = 0``) gives an empty output
``[0, N, *]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from spikelayers.base import MultiStepModule


def count_to_slots_reference(counts: torch.Tensor, num_slots: int) -> torch.Tensor:
    """Readable definition: ``[T, N, *]`` counts -> ``[T * S, N, *]`` slots, one step at a time.

    Slot ``k`` of step ``t`` (output step ``t * S + k``) is 1 exactly when ``k < counts[t]``.
    The gradient of a count is the mean of its slots' gradients (straight through).
    """
    steps = []
    for count in counts:
        for k in range(num_slots):
            hard = (count > k).to(counts.dtype)
            proxy = count / num_slots
            steps.append(hard + proxy - proxy.detach())
    return torch.stack(steps)


class _CountToSlots(torch.autograd.Function):
    """All slots of all steps at once; backward averages each count's slots."""

    generate_vmap_rule = True  # plain torch ops: torch.func.vmap batches them as they are

    @staticmethod
    def forward(counts: torch.Tensor, num_slots: int) -> torch.Tensor:
        slots = torch.arange(num_slots, device=counts.device).view(1, num_slots, *([1] * (counts.dim() - 1)))
        dtype = counts.dtype if counts.is_floating_point() else torch.get_default_dtype()
        return (counts.unsqueeze(1) > slots).to(dtype).flatten(0, 1)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
        ctx.num_slots = inputs[1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[no-untyped-def]
        grad_counts = grad.unflatten(0, (grad.shape[0] // ctx.num_slots, ctx.num_slots)).mean(dim=1)
        return grad_counts, None


def count_to_slots(counts: torch.Tensor, num_slots: int) -> torch.Tensor:
    """``[T, N, *]`` counts -> ``[T * S, N, *]`` binary slots, without a loop over ``T``."""
    return _CountToSlots.apply(counts, num_slots)


def bin_sum_reference(x_seq: torch.Tensor, num_slots: int) -> torch.Tensor:
    """Readable definition: ``[T, N, *] -> [ceil(T / S), N, *]``, bin ``j`` the sum of steps ``j*S .. j*S+S-1``."""
    bins = []
    for start in range(0, x_seq.shape[0], num_slots):
        window = x_seq[start : start + num_slots]
        total = window[0]
        for step in window[1:]:
            total = total + step
        bins.append(total)
    return torch.stack(bins)


def bin_sum(x_seq: torch.Tensor, num_slots: int) -> torch.Tensor:
    """``[T, N, *] -> [ceil(T / S), N, *]`` in one reduction; an incomplete last bin is zero-padded.

    An empty sequence (``T = 0``) has no bins: ``[0, N, *]``.
    """
    missing = -x_seq.shape[0] % num_slots
    if missing:
        x_seq = torch.cat((x_seq, x_seq.new_zeros((missing, *x_seq.shape[1:]))))
    return x_seq.unflatten(0, (x_seq.shape[0] // num_slots, num_slots)).sum(dim=1)


class _SlotLayer(MultiStepModule, nn.Module):
    """The constructor, activation rule, input check and forward shared by both layers;
    each sets ``convert(x_seq, num_slots)``."""

    convert: ClassVar[Callable[[torch.Tensor, int], torch.Tensor]]

    def __init__(self, num_slots: int, always_convert: bool = False) -> None:
        super().__init__()
        if isinstance(num_slots, bool) or not isinstance(num_slots, int) or num_slots < 1:
            raise ValueError(f"{type(self).__name__}: num_slots must be an integer >= 1, got {num_slots!r}")
        self.num_slots = num_slots
        self.always_convert = always_convert

    def active(self) -> bool:
        """Whether the layer converts (``always_convert`` or eval mode)."""
        return self.always_convert or not self.training

    def _check(self, x_seq: torch.Tensor) -> None:
        if not isinstance(x_seq, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a tensor [T, N, *], got {type(x_seq).__name__}")
        if x_seq.dim() < 2:
            raise ValueError(
                f"{type(self).__name__} expects input [T, N, *] (at least 2-D), got shape {tuple(x_seq.shape)}"
            )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``convert(x_seq, num_slots)`` when :meth:`active`, else ``x_seq`` unchanged."""
        if not self.active():
            return x_seq
        self._check(x_seq)
        return self.convert(x_seq, self.num_slots)

    def extra_repr(self) -> str:
        return f"num_slots={self.num_slots}, always_convert={self.always_convert}, step_mode={self.step_mode}"


class SpikeCountToBinary(_SlotLayer):
    """Expand spike counts into binary event slots (multi-step only).

    Active (``always_convert`` or eval mode): ``[T, N, *]`` integer-valued counts in
    ``[0, num_slots]`` -> ``[T * num_slots, N, *]`` spikes in the input's dtype; step
    ``t`` becomes slots ``t * S .. t * S + S - 1`` and slot ``k`` fires when ``k < count``.
    Backward is straight through: a count's gradient is the mean of its slots'.
    An empty sequence ``[0, N, *]`` gives ``[0, N, *]``.
    Inactive (training without ``always_convert``): the input is returned unchanged.

    Args:
        num_slots: ``S``, the slots per count (at least 1).
        always_convert: convert in training mode too.
    """

    convert = staticmethod(count_to_slots)


class TemporalBinSum(_SlotLayer):
    """Sum every ``num_slots`` consecutive steps (multi-step only).

    Active (``always_convert`` or eval mode): ``[T, N, *] -> [ceil(T / S), N, *]``, output
    step ``j`` the sum of input steps ``j * S .. j * S + S - 1`` (an incomplete last bin is
    zero-padded); the dtype is kept. An empty sequence ``[0, N, *]`` gives
    ``[0, N, *]``. Inactive: the input is returned unchanged.

    Args:
        num_slots: ``S``, the steps per bin (at least 1).
        always_convert: sum in training mode too.
    """

    convert = staticmethod(bin_sum)
