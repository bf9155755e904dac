"""Variants of the LIF neuron: analog output (LIAF), learnable scale (KLIF), and SLTT's
LIF without gradients through time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from spikelayers import validators

from .base import DEFAULT_SURROGATE, BaseNode, float_input
from .cells import CellConfig
from .node import LIFNode


class LIAFNode(LIFNode):
    """Leaky integrate and analog fire: a :class:`~spikelayers_neuron.node.LIFNode` whose
    output is ``act(H - v_threshold)`` (``threshold_related``) or ``act(H)`` instead of the
    spike; the spike still drives the reset. The outputs are not binary.

    Args:
        act: the activation applied to the charged potential ``H`` ``[N, *]``.
        threshold_related: ``True`` for ``act(H - v_threshold)``, ``False`` for ``act(H)``.
        *args: the positional parameters of :class:`~spikelayers_neuron.node.LIFNode`.
        **kwargs: its keyword parameters (``backend`` must be ``'torch'``).
    """

    supported_backends = ("torch",)

    def __init__(self, act: Callable[[torch.Tensor], torch.Tensor], threshold_related: bool, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not callable(act):
            raise TypeError(f"LIAFNode: act must be callable, got {act!r}")
        self.act = act
        self.threshold_related = threshold_related

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *] -> [N, *]``: charge, analog output, fire and reset; returns the output."""
        x = float_input(self, x, "[N, *]", 0)
        self.v_float_to_tensor(x)
        self.neuronal_charge(x)
        y = self.act(self.v - self.v_threshold) if self.threshold_related else self.act(self.v)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return y

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, threshold_related={self.threshold_related}"


class KLIFNode(BaseNode):
    """K-based LIF neuron: the LIF charge ``H`` is scaled by a learnable ``k`` and
    rectified, ``F = relu(k H)``; the spike is ``heaviside(F - v_threshold)`` and the reset
    acts on ``F`` (divided by ``k`` afterwards when ``scale_reset``):

    * hard: ``V = F (1 - S) + v_reset S`` or ``F / k (1 - S) + v_reset S``;
    * soft: ``V = F - v_threshold S`` or ``(F - v_threshold S) / k``.

    Args:
        scale_reset: whether the reset potential is divided by ``k``.
        tau: membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'torch'``, ``'triton'`` or ``'inductor'`` (multi-step mode without ``scale_reset``).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kernel_op = "neuron.cell_multi_step"
    supported_backends = ("torch", "triton", "inductor")

    def __init__(
        self,
        scale_reset: bool = False,
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
        self.scale_reset = scale_reset
        self.tau = float(tau)
        self.decay_input = decay_input
        self.k = nn.Parameter(torch.tensor(1.0))

    @staticmethod
    def neuronal_charge_decay_input(
        x: torch.Tensor, v: torch.Tensor, v_reset: float, tau: float, k: torch.Tensor
    ) -> torch.Tensor:
        """``relu(k (v + (x - (v - v_reset)) / tau))``."""
        return torch.relu(k * (v + (x - (v - v_reset)) / tau))

    @staticmethod
    def neuronal_charge_no_decay_input(
        x: torch.Tensor, v: torch.Tensor, v_reset: float, tau: float, k: torch.Tensor
    ) -> torch.Tensor:
        """``relu(k (v - (v - v_reset) / tau + x))``."""
        return torch.relu(k * (v - (v - v_reset) / tau + x))

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """``v <- F = relu(k H)`` with the LIF charge ``H`` (``v_reset`` counts as 0 when ``None``)."""
        v_r = 0.0 if self.v_reset is None else self.v_reset
        if self.decay_input:
            self.v = self.neuronal_charge_decay_input(x, self.v, v_r, self.tau, self.k)
        else:
            self.v = self.neuronal_charge_no_decay_input(x, self.v, v_r, self.tau, self.k)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        """The reset of ``F``, scaled by ``1/k`` when ``scale_reset``."""
        spike_d = spike.detach() if self.detach_reset else spike
        if self.scale_reset:
            if self.v_reset is None:
                self.v = self.jit_soft_reset(self.v, spike_d, self.v_threshold) / self.k
            else:
                self.v = self.jit_hard_reset(self.v / self.k, spike_d, self.v_reset)
        elif self.v_reset is None:
            self.v = self.jit_soft_reset(self.v, spike_d, self.v_threshold)
        else:
            self.v = self.jit_hard_reset(self.v, spike_d, self.v_reset)

    def fused_path_supports_settings(self) -> bool:
        # The fused cell resets F without the 1/k scale.
        return not self.scale_reset

    def _fused_forward(self, kernel: Callable[..., Any], x_seq: torch.Tensor, store_v_seq: bool) -> torch.Tensor:
        x_seq, v0 = self._potential(x_seq)
        config = CellConfig(
            cell="klif",
            params=(self.tau, float(self.decay_input), 0.0 if self.v_reset is None else self.v_reset),
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate_function,
            store_v_seq=store_v_seq,
        )
        spike_seq, v = kernel(x_seq, v0, self.k, config)
        self._keep_potential(v, v0, store_v_seq)
        return spike_seq


class SLTTLIFNode(LIFNode):
    """The LIF neuron of spatial learning through time (SLTT); single-step only, ``[N, *]``.

    Each step detaches ``v`` before charging, so the gradient of step ``t``'s spike
    reaches ``x[t]`` only, never earlier steps. Charge, firing and reset follow
    :class:`~spikelayers_neuron.node.LIFNode`; ``v`` is a memory.

    Args:
        tau: membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: must be ``'s'``.
        backend: ``'torch'``.
        store_v_seq: accepted for compatibility; single-step mode keeps no sequence.
    """

    step_modes = ("s",)
    supported_backends = ("torch",)

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = True,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """Detach ``v``, then the charge of :class:`~spikelayers_neuron.node.LIFNode`."""
        self.v = self.v.detach()
        super().neuronal_charge(x)
