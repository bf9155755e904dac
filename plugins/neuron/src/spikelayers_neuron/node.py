"""Integrate-and-fire, leaky and parametric leaky integrate-and-fire neurons.

Every neuron keeps its membrane potential ``v`` as a memory (initially ``v_reset``, or 0
when ``v_reset`` is ``None``). Single-step mode takes ``[N, *]``; multi-step mode takes
``[T, N, *]`` and runs one fused autograd function over the whole sequence (a subclass
that overrides a dynamics hook runs the hooks instead, see :mod:`spikelayers_neuron.base`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from spikelayers import validators

from .base import DEFAULT_SURROGATE, AdaptBaseNode, BaseNode, SimpleBaseNode
from .dynamics import NeuronConfig

__all__ = [
    "DEFAULT_SURROGATE",
    "AdaptBaseNode",
    "BaseNode",
    "IFNode",
    "LIFNode",
    "ParametricLIFNode",
    "SimpleBaseNode",
]

OP = "neuron.multi_step"


class _ChargeFireResetNode(BaseNode):
    """IF/LIF/PLIF: the fused path of op ``"neuron.multi_step"`` (``kind`` picks the charge)."""

    kind = "if"
    supported_backends = ("torch", "triton", "inductor")

    def decay(self) -> float | torch.Tensor | None:
        """``k = 1/tau`` of the charge (``None`` for IF)."""
        return None

    @property
    def decay_input_flag(self) -> bool:
        return False

    def config(self, store_v_seq: bool | None = None) -> NeuronConfig:
        """The constants of the fused kernel."""
        return NeuronConfig(
            kind=self.kind,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate_function,
            decay_input=self.decay_input_flag,
            store_v_seq=self.store_v_seq if store_v_seq is None else store_v_seq,
        )

    def _fused_forward(self, kernel: Callable[..., Any], x_seq: torch.Tensor, store_v_seq: bool) -> torch.Tensor:
        x_seq, v0 = self._potential(x_seq)
        spike_seq, v = kernel(x_seq, v0, self.decay(), self.config(store_v_seq))
        self._keep_potential(v, v0, store_v_seq)
        return spike_seq


class IFNode(_ChargeFireResetNode):
    """Integrate-and-fire neuron: ``H[t] = V[t-1] + X[t]``; spike ``= heaviside(H - v_threshold)``;
    then a hard reset to ``v_reset`` where it spiked, or ``V = H - v_threshold * spike``
    when ``v_reset`` is ``None``.

    Args:
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function (default
            :class:`~spikelayers_neuron.surrogate.Sigmoid`).
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend of multi-step mode, ``'torch'``, ``'triton'`` or ``'inductor'`` (compiled for the CPU).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "if"
    kernel_op = OP

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """``H = v + x``."""
        self.v = self.v + x


class LIFNode(_ChargeFireResetNode):
    """Leaky integrate-and-fire neuron with time constant ``tau``.

    Charge with ``decay_input``: ``H = V + (X - (V - v_reset)) / tau``; without:
    ``H = V - (V - v_reset) / tau + X`` (``v_reset`` counts as 0 here when ``None``).
    Firing and reset as in :class:`IFNode`.

    Args:
        tau: membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend of multi-step mode, ``'torch'``, ``'triton'`` or ``'inductor'`` (compiled for the CPU).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "lif"
    kernel_op = OP

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        validators.tau(type(self).__name__, tau, "tau")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = float(tau)
        self.decay_input = decay_input

    @staticmethod
    def neuronal_charge_decay_input_reset0(x: torch.Tensor, v: torch.Tensor, tau: float) -> torch.Tensor:
        """``v + (x - v) / tau``."""
        return v + (x - v) / tau

    @staticmethod
    def neuronal_charge_decay_input(x: torch.Tensor, v: torch.Tensor, v_reset: float, tau: float) -> torch.Tensor:
        """``v + (x - (v - v_reset)) / tau``."""
        return v + (x - (v - v_reset)) / tau

    @staticmethod
    def neuronal_charge_no_decay_input_reset0(x: torch.Tensor, v: torch.Tensor, tau: float) -> torch.Tensor:
        """``v * (1 - 1/tau) + x``."""
        return v * (1.0 - 1.0 / tau) + x

    @staticmethod
    def neuronal_charge_no_decay_input(x: torch.Tensor, v: torch.Tensor, v_reset: float, tau: float) -> torch.Tensor:
        """``v - (v - v_reset) / tau + x``."""
        return v - (v - v_reset) / tau + x

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """The leaky charge (one of the four static helpers, by ``decay_input`` and ``v_reset``)."""
        if self.v_reset is None or self.v_reset == 0.0:
            if self.decay_input:
                self.v = self.neuronal_charge_decay_input_reset0(x, self.v, self.tau)
            else:
                self.v = self.neuronal_charge_no_decay_input_reset0(x, self.v, self.tau)
        elif self.decay_input:
            self.v = self.neuronal_charge_decay_input(x, self.v, self.v_reset, self.tau)
        else:
            self.v = self.neuronal_charge_no_decay_input(x, self.v, self.v_reset, self.tau)

    def decay(self) -> float:
        return 1.0 / self.tau

    @property
    def decay_input_flag(self) -> bool:
        return self.decay_input

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={self.tau}, decay_input={self.decay_input}"


class ParametricLIFNode(_ChargeFireResetNode):
    """LIF neuron with a learnable time constant: ``1/tau = sigmoid(w)``.

    ``w`` (a scalar parameter) starts at ``-ln(init_tau - 1)`` so that ``tau = init_tau``.
    Charge, firing and reset as in :class:`LIFNode`; gradients reach ``w``.

    Args:
        init_tau: initial membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend of multi-step mode, ``'torch'``, ``'triton'`` or ``'inductor'`` (compiled for the CPU).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "plif"
    kernel_op = OP

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        validators.tau(type(self).__name__, init_tau, "init_tau")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.decay_input = decay_input
        self.w = nn.Parameter(torch.tensor(-math.log(init_tau - 1.0)))

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """The leaky charge of :class:`LIFNode` with ``1/tau = sigmoid(w)``."""
        k = self.w.sigmoid()
        v_r = 0.0 if self.v_reset is None else self.v_reset
        if self.decay_input:
            self.v = self.v + (x - (self.v - v_r)) * k
        else:
            self.v = self.v - (self.v - v_r) * k + x

    def decay(self) -> torch.Tensor:
        return self.w.sigmoid()

    @property
    def decay_input_flag(self) -> bool:
        return self.decay_input

    def extra_repr(self) -> str:
        with torch.no_grad():
            tau = 1.0 / self.w.sigmoid().item()
        return f"{super().extra_repr()}, tau={tau:.4g}, decay_input={self.decay_input}"
