"""Parallel spiking neurons (PSN, masked PSN, sliding PSN).

A parallel spiking neuron has no reset, so its charge ``H`` is a linear function of the
input sequence, ``H = W X + B`` with ``X`` ``[T, N*...]``, and its spikes are
``S = heaviside(H)`` with surrogate gradients (``-B`` is the learnable threshold).
Multi-step mode is one matrix product over time (:mod:`.ops.psn.fused`); the masked and
sliding variants restrict ``W`` to a band of ``k`` steps, which also lets them run one
step at a time from a queue of the last ``k`` inputs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from spikelayers.base import MemoryModule, MultiStepModule
from spikelayers.errors import StateShapeError

from .arguments import check_sequence, positive_int
from .ops.precision import compute_dtype
from .ops.psn.fused import (
    band_mask,
    masked_weight,
    psn_multi_step,
    sliding_psn_conv,
    sliding_psn_gemm,
    sliding_weight_matrix,
)
from .surrogate import ATan

#: The default ``surrogate_function`` of the parallel spiking neurons; each neuron
#: constructed with it gets its own copy.
DEFAULT_PSN_SURROGATE = ATan()


def _own_surrogate(surrogate_function: nn.Module) -> nn.Module:
    return ATan() if surrogate_function is DEFAULT_PSN_SURROGATE else surrogate_function


class PSN(MultiStepModule, nn.Module):
    """Parallel spiking neuron: ``H = W X + B``, ``S = heaviside(H)`` over all ``T`` steps at once.

    Multi-step only: input ``[T, N, *]`` with exactly ``T`` steps, output spikes of the
    same shape. Stateless (nothing to reset).

    Args:
        T: the number of time steps.
        surrogate_function: the spike's surrogate-gradient function (default
            :class:`~spikelayers_neuron.surrogate.ATan`, a fresh one per neuron).

    Parameters: ``weight`` ``[T, T]`` (Kaiming-uniform, ``a = sqrt(5)``) and ``bias``
    ``[T, 1]`` (``-1``; the threshold of step ``t`` is ``-bias[t]``).
    """

    def __init__(self, T: int, surrogate_function: nn.Module = DEFAULT_PSN_SURROGATE) -> None:
        super().__init__()
        self.T = positive_int("PSN", "T", T)
        self.surrogate_function = _own_surrogate(surrogate_function)
        self.weight = nn.Parameter(torch.zeros(self.T, self.T))
        self.bias = nn.Parameter(torch.zeros(self.T, 1))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.constant_(self.bias, -1.0)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` of the sequence ``x_seq`` ``[T, N, *]``."""
        check_sequence(self, x_seq, self.T)
        return psn_multi_step(x_seq, self.weight, self.bias, self.surrogate_function)

    def extra_repr(self) -> str:
        return f"T={self.T}, {super().extra_repr()}"


class _QueueMemory(MemoryModule):
    """A memory module whose ``queue`` memory is a list of tensors."""

    def __getstate__(self) -> dict[str, Any]:
        # Copies keep the queued values but not their autograd graphs, like tensor memories.
        state = super().__getstate__()
        state["_memories"] = {
            name: [q.detach() for q in value] if isinstance(value, list) else value
            for name, value in state["_memories"].items()
        }
        return state


class MaskedPSN(_QueueMemory):
    """Masked parallel spiking neuron: the PSN with ``W`` masked to a band of ``k`` steps.

    ``H = (W * M_k(lambda)) X + B`` with ``M_k[i][j] = 1`` where ``j <= i <= j + k - 1``
    (else 0) and ``M_k(lambda) = lambda * M_k + (1 - lambda) * ones``: raising ``lambda``
    from 0 to 1 during training (``node.lambda_ = value``) moves from the full PSN to the
    band. Multi-step mode takes exactly ``T`` steps ``[T, N, *]`` and keeps no state.
    Single-step mode (``[N, *]``, any shape) needs ``lambda_ >= 1`` and keeps the step
    count ``time_step`` and the last ``k`` inputs ``queue`` as memories; a ``T + 1``-th
    step without a reset raises ``OverflowError``.

    Args:
        k: the order (band width) of the mask.
        T: the number of time steps.
        lambda_init: the initial ``lambda``.
        surrogate_function: the spike's surrogate-gradient function (default ``ATan()``).
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(
        self,
        k: int,
        T: int,
        lambda_init: float = 0.0,
        surrogate_function: nn.Module = DEFAULT_PSN_SURROGATE,
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        self.register_memory("time_step", 0)
        self.register_memory("queue", [])
        self.step_mode = step_mode
        self.k = positive_int("MaskedPSN", "k", k)
        self.T = positive_int("MaskedPSN", "T", T)
        self.surrogate_function = _own_surrogate(surrogate_function)
        self.register_buffer("_lambda_", torch.as_tensor(float(lambda_init)))
        self.weight = nn.Parameter(torch.zeros(self.T, self.T))
        self.bias = nn.Parameter(torch.zeros(self.T, 1))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.constant_(self.bias, -1.0)
        self.register_buffer("mask0", band_mask(self.T, self.k))
        self.register_buffer("mask1", torch.ones(self.T, self.T))

    @property
    def lambda_(self) -> torch.Tensor:
        """The masking progress ``lambda`` (a 0-dim buffer); assigning fills it in place."""
        return self._lambda_

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        with torch.no_grad():
            self._lambda_.fill_(value)

    def masked_weight(self) -> torch.Tensor:
        """``W * M_k(lambda)`` ``[T, T]``."""
        return masked_weight(self.weight, self.mask0, self.mask1, self._lambda_)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` of ``x_seq`` ``[T, N, *]`` (exactly ``T`` steps); no state."""
        check_sequence(self, x_seq, self.T)
        return psn_multi_step(x_seq, self.masked_weight(), self.bias, self.surrogate_function)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``[N, *]`` of step ``time_step`` from ``x`` ``[N, *]`` and the queued inputs."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"MaskedPSN (step_mode='s') expects a tensor [N, *], got {type(x).__name__}")
        if float(self._lambda_) < 1.0:
            raise ValueError(
                f"MaskedPSN: single-step mode needs lambda_ >= 1 (the band mask alone), got "
                f"lambda_={float(self._lambda_)}; set node.lambda_ = 1.0 or use step_mode='m'"
            )
        t = self.time_step
        if t + 1 > self.T:
            raise OverflowError(
                f"MaskedPSN(T={self.T}) has already run {t} single steps; call "
                "spikelayers.functional.reset_net(net) before the next sequence"
            )
        queue = _pushed(self, self.queue, x, self.k)
        weight = self.masked_weight()[t, t + 1 - len(queue) : t + 1]
        spike = _queued_spike(x, queue, weight, self.bias[t], self.surrogate_function)
        self.queue = queue
        self.time_step = t + 1
        return spike

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, lambda_={float(self._lambda_)}, T={self.T}, order={self.k}"


class SlidingPSN(_QueueMemory):
    """Sliding parallel spiking neuron: ``H[t] = sum_{i<k} W[i] X[t - k + 1 + i] + B``.

    Every step sees the last ``k`` inputs through one shared weight ``[k]``, so any
    sequence length works. Multi-step mode (``[T, N, *]``, no state) runs one banded
    ``[T, T]`` matrix product (``backend='gemm'``) or a convolution along time
    (``backend='conv'``); single-step mode (``[N, *]``, any shape) keeps the last ``k``
    inputs in the memory ``queue``.

    Args:
        k: the order (window length).
        exp_init: initialise ``weight`` to ``(..., 1/4, 1/2, 1)``; otherwise Kaiming-uniform.
        surrogate_function: the spike's surrogate-gradient function (default ``ATan()``).
        step_mode: ``'s'`` or ``'m'``.
        backend: multi-step algorithm, ``'gemm'`` or ``'conv'``.
    """

    supported_backends = ("gemm", "conv")

    def __init__(
        self,
        k: int,
        exp_init: bool = True,
        surrogate_function: nn.Module = DEFAULT_PSN_SURROGATE,
        step_mode: str = "s",
        backend: str = "gemm",
    ) -> None:
        super().__init__()
        self.register_memory("queue", [])
        self.step_mode = step_mode
        self.k = positive_int("SlidingPSN", "k", k)
        self.surrogate_function = _own_surrogate(surrogate_function)
        self.backend = backend
        if exp_init:
            weight = 0.5 ** torch.arange(self.k - 1, -1, -1, dtype=torch.float32)
        else:
            weight = torch.ones(1, self.k)
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            weight = weight[0]
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.as_tensor(-1.0))

    def gen_gemm_weight(self, T: int) -> torch.Tensor:
        """The banded ``[T, T]`` matrix whose product with ``X`` ``[T, N*...]`` is the charge."""
        return sliding_weight_matrix(self.weight, T)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` of ``x_seq`` ``[T, N, *]`` (any ``T``); no state."""
        check_sequence(self, x_seq)
        # The convolution needs at least one step: an empty sequence takes the banded product.
        run = sliding_psn_conv if self.backend == "conv" and x_seq.shape[0] > 0 else sliding_psn_gemm
        return run(x_seq, self.weight, self.bias, self.surrogate_function)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``[N, *]`` of ``x`` ``[N, *]`` and the last ``k - 1`` queued inputs."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"SlidingPSN (step_mode='s') expects a tensor [N, *], got {type(x).__name__}")
        queue = _pushed(self, self.queue, x, self.k)
        spike = _queued_spike(x, queue, self.weight[self.k - len(queue) :], self.bias, self.surrogate_function)
        self.queue = queue
        return spike

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, order={self.k}"


def _pushed(layer: nn.Module, queue: list[torch.Tensor], x: torch.Tensor, k: int) -> list[torch.Tensor]:
    """A new list: the last ``k`` entries of ``queue`` followed by ``x`` flattened."""
    flat = x.flatten()
    if queue and queue[-1].shape != flat.shape:
        raise StateShapeError(
            f"{type(layer).__name__}: the queued steps have {queue[-1].numel()} elements but this input "
            f"{tuple(x.shape)} has {flat.numel()}; the input shape changed without a reset. Call "
            "spikelayers.functional.reset_net(net) between sequences."
        )
    return [*queue, flat][-k:]


def _queued_spike(
    x: torch.Tensor, queue: list[torch.Tensor], weight: torch.Tensor, bias: torch.Tensor, surrogate: nn.Module
) -> torch.Tensor:
    """``surrogate(sum_i weight[i] * queue[i] + bias)`` shaped and typed like ``x``."""
    dtype = compute_dtype(x, weight, bias)
    h = weight.to(dtype) @ torch.stack(queue).to(dtype) + bias.to(dtype)
    return surrogate(h).view(x.shape).to(x.dtype)
