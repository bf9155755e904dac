"""Spiking neurons: integrate-and-fire, leaky and parametric leaky integrate-and-fire.

Every neuron keeps its membrane potential ``v`` as a memory (initially ``v_reset``, or 0
when ``v_reset`` is ``None``). Single-step mode takes ``[N, *]``; multi-step mode takes
``[T, N, *]`` and runs one fused autograd function over the whole sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.kernels import get_kernel, prepare
from spikelayers.shapes import check_min_dim

from .dynamics import NeuronConfig
from .surrogate import Sigmoid

OP = "neuron.multi_step"

#: The default ``surrogate_function`` of every neuron (each neuron gets its own copy).
DEFAULT_SURROGATE = Sigmoid()


class BaseNode(MemoryModule):
    """Shared machinery of the neurons: threshold, reset, surrogate, memories.

    Args:
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike (hard reset), or ``None`` to subtract
            ``v_threshold`` instead (soft reset).
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend, ``'torch'``, ``'triton'`` or ``'auto'`` (the kernel
            registry picks, in both step modes).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "if"
    supported_backends = ("torch", "triton")

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module | None = None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__()
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.surrogate_function = Sigmoid() if surrogate_function is None else surrogate_function
        self.detach_reset = detach_reset
        self.store_v_seq = store_v_seq
        self.register_memory("v", 0.0 if v_reset is None else v_reset)
        if store_v_seq:
            self.register_memory("v_seq", None)
        self.step_mode = step_mode
        self.backend = backend
        prepare(OP, self.backend)  # import the kernels now, not in the first (maybe compiled) forward

    # -- subclass hooks -------------------------------------------------------------

    def decay(self) -> float | torch.Tensor | None:
        """``k = 1/tau`` of the charge (``None`` for IF)."""
        return None

    @property
    def decay_input_flag(self) -> bool:
        return False

    # -- forward --------------------------------------------------------------------

    def config(self) -> NeuronConfig:
        return NeuronConfig(
            kind=self.kind,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate_function,
            decay_input=self.decay_input_flag,
            store_v_seq=self.store_v_seq,
        )

    def kernel_settings(self) -> dict[str, object]:
        """What the kernels' ``supports`` look at: the surrogate's type and whether it spikes."""
        surrogate = self.surrogate_function
        return {"surrogate": type(surrogate), "spiking": bool(getattr(surrogate, "spiking", True))}

    def _kernel(self, device: torch.device) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
        """The kernel of ``"neuron.multi_step"`` that the registry picks for this neuron
        (one dictionary read after the first call); both step modes use it."""
        return get_kernel(OP, self.backend, device, **self.kernel_settings())

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *] -> [N, *]`` (spikes)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a tensor [N, *], got {type(x).__name__}")
        config = replace(self.config(), store_v_seq=False)
        kernel = self._kernel(x.device)
        spike, self.v = kernel(x.unsqueeze(0), self.memory_like("v", x), self.decay(), config)
        return spike[0]

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence ``[T, N, *] -> [T, N, *]`` (spikes)."""
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        kernel = self._kernel(x_seq.device)  # first: a backend that cannot run changes no state
        v0 = self.memory_like("v", x_seq, shape=x_seq.shape[1:])
        spike_seq, v = kernel(x_seq, v0, self.decay(), self.config())
        if self.store_v_seq:
            self.v_seq = v
            self.v = v[-1] if v.shape[0] else v0
        else:
            self.v = v
        return spike_seq

    def extra_repr(self) -> str:
        return (
            f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
            f"{super().extra_repr()}"
        )


class IFNode(BaseNode):
    """Integrate-and-fire neuron: ``h = v + x``; spike ``= heaviside(h - v_threshold)``;
    then a hard reset to ``v_reset`` where it spiked, or ``v = h - v_threshold * spike``
    when ``v_reset`` is ``None``.

    Args:
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function (default
            :class:`~spikelayers_neuron.surrogate.Sigmoid`).
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend of multi-step mode, ``'torch'`` or ``'triton'``.
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "if"

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(
            v_threshold, v_reset, _fresh(surrogate_function), detach_reset, step_mode, backend, store_v_seq
        )


class LIFNode(BaseNode):
    """Leaky integrate-and-fire neuron with time constant ``tau``.

    Charge with ``decay_input``: ``h = v + (x - (v - v_reset)) / tau``; without:
    ``h = v - (v - v_reset) / tau + x`` (``v_reset`` counts as 0 here when ``None``).
    Firing and reset as in :class:`IFNode`.

    Args:
        tau: membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend of multi-step mode, ``'torch'`` or ``'triton'``.
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "lif"

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        if not tau > 1.0:
            raise ValueError(f"LIFNode: tau must be greater than 1, got {tau!r}")
        super().__init__(
            v_threshold, v_reset, _fresh(surrogate_function), detach_reset, step_mode, backend, store_v_seq
        )
        self.tau = tau
        self.decay_input = decay_input

    def decay(self) -> float:
        return 1.0 / self.tau

    @property
    def decay_input_flag(self) -> bool:
        return self.decay_input

    def extra_repr(self) -> str:
        return f"tau={self.tau}, decay_input={self.decay_input}, {super().extra_repr()}"


class ParametricLIFNode(BaseNode):
    """LIF neuron with a learnable time constant: ``1/tau = sigmoid(w)``.

    ``w`` (a scalar parameter) starts at ``-ln(init_tau - 1)`` so that ``tau = init_tau``.
    Charge, firing and reset as in :class:`LIFNode`.

    Args:
        init_tau: initial membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: kernel backend of multi-step mode, ``'torch'`` or ``'triton'``.
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kind = "plif"

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: nn.Module = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        if not init_tau > 1.0:
            raise ValueError(f"ParametricLIFNode: init_tau must be greater than 1, got {init_tau!r}")
        super().__init__(
            v_threshold, v_reset, _fresh(surrogate_function), detach_reset, step_mode, backend, store_v_seq
        )
        self.decay_input = decay_input
        self.w = nn.Parameter(torch.tensor(-math.log(init_tau - 1.0)))

    def decay(self) -> torch.Tensor:
        return self.w.sigmoid()

    @property
    def decay_input_flag(self) -> bool:
        return self.decay_input

    def extra_repr(self) -> str:
        with torch.no_grad():
            tau = 1.0 / self.w.sigmoid().item()
        return f"tau={tau:.4g}, decay_input={self.decay_input}, {super().extra_repr()}"


def _fresh(surrogate: nn.Module) -> nn.Module:
    """A private copy of the shared default surrogate, so no two neurons share one module."""
    return Sigmoid() if surrogate is DEFAULT_SURROGATE else surrogate
