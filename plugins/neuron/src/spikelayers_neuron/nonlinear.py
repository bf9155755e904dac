"""Nonlinear integrate-and-fire neurons: quadratic (QIF), exponential (EIF) and Izhikevich.

Firing and reset are :class:`~spikelayers_neuron.base.BaseNode`'s; only the charge
differs. Single-step mode takes ``[N, *]``, multi-step mode ``[T, N, *]`` and runs one
fused autograd function (:mod:`spikelayers_neuron.fused_cells`) unless a subclass
overrides a dynamics hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from spikelayers import validators

from .base import DEFAULT_SURROGATE, AdaptBaseNode, BaseNode
from .cells import CellConfig, IzhikevichConfig


def _check_positive(module: nn.Module, name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{type(module).__name__}: {name} must be greater than 0, got {value!r}")


def _check_reset_order(module: nn.Module, v_threshold: float, v_reset: float | None, v_rest: float) -> None:
    if v_reset is None:
        return
    if not v_threshold > v_reset:
        raise ValueError(
            f"{type(module).__name__}: v_threshold must be greater than v_reset, got {v_threshold!r} <= {v_reset!r}"
        )
    if not v_rest >= v_reset:
        raise ValueError(f"{type(module).__name__}: v_rest must be at least v_reset, got {v_rest!r} < {v_reset!r}")


class _CellNode(BaseNode):
    """A neuron whose fused path is a :class:`~spikelayers_neuron.cells.CellConfig` recurrence."""

    cell = ""

    def cell_config(self, store_v_seq: bool) -> CellConfig:
        """The constants of the fused kernel."""
        return CellConfig(
            cell=self.cell,
            params=self.cell_params(),
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate_function,
            store_v_seq=store_v_seq,
        )

    def cell_params(self) -> tuple[float, ...]:
        """The cell's parameters after the shared ones, in the order its kernel reads them."""
        raise NotImplementedError(f"{type(self).__name__} must define cell_params()")

    def _fused_forward(self, kernel: Callable[..., Any], x_seq: torch.Tensor, store_v_seq: bool) -> torch.Tensor:
        x_seq, v0 = self._potential(x_seq)
        spike_seq, v = kernel(x_seq, v0, None, self.cell_config(store_v_seq))
        self._keep_potential(v, v0, store_v_seq)
        return spike_seq


class QIFNode(_CellNode):
    """Quadratic integrate-and-fire neuron:
    ``H = V + (X + a0 (V - v_rest)(V - v_c)) / tau``; firing and reset as in ``IFNode``.

    Args:
        tau: membrane time constant, ``> 1``.
        v_c: critical voltage.
        a0: coefficient of the quadratic term, ``> 0``.
        v_threshold: the potential at which the neuron fires.
        v_rest: resting potential.
        v_reset: the potential after a spike (``v`` starts there too), or ``None`` for a
            soft reset; a hard reset needs ``v_threshold > v_reset`` and ``v_rest >= v_reset``.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'torch'``, ``'triton'`` or ``'inductor'`` (multi-step mode).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    cell = "qif"
    kernel_op = "neuron.cell_multi_step"
    supported_backends = ("torch", "triton", "inductor")

    def __init__(
        self,
        tau: float = 2.0,
        v_c: float = 0.8,
        a0: float = 1.0,
        v_threshold: float = 1.0,
        v_rest: float = 0.0,
        v_reset: float | None = -0.1,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        validators.tau(type(self).__name__, tau, "tau")
        _check_reset_order(self, v_threshold, v_reset, v_rest)
        _check_positive(self, "a0", a0)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = float(tau)
        self.v_c = float(v_c)
        self.a0 = float(a0)
        self.v_rest = float(v_rest)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """``H = v + (x + a0 (v - v_rest)(v - v_c)) / tau``."""
        self.v = self.v + (x + self.a0 * (self.v - self.v_rest) * (self.v - self.v_c)) / self.tau

    def cell_params(self) -> tuple[float, ...]:
        return (self.tau, self.v_c, self.a0, self.v_rest)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={self.tau}, v_c={self.v_c}, a0={self.a0}, v_rest={self.v_rest}"


class EIFNode(_CellNode):
    """Exponential integrate-and-fire neuron:
    ``H = V + (X - (V - v_rest) + delta_T exp((V - theta_rh) / delta_T)) / tau``.

    Args:
        tau: membrane time constant, ``> 1``.
        delta_T: sharpness, ``> 0`` (the LIF neuron is the limit ``delta_T -> 0``).
        theta_rh: rheobase threshold.
        v_threshold: the potential at which the neuron fires.
        v_rest: resting potential.
        v_reset: the potential after a spike (``v`` starts there too), or ``None`` for a
            soft reset; a hard reset needs ``v_threshold > v_reset`` and ``v_rest >= v_reset``.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'torch'``, ``'triton'`` or ``'inductor'`` (multi-step mode).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    cell = "eif"
    kernel_op = "neuron.cell_multi_step"
    supported_backends = ("torch", "triton", "inductor")

    def __init__(
        self,
        tau: float = 2.0,
        delta_T: float = 1.0,
        theta_rh: float = 0.8,
        v_threshold: float = 1.0,
        v_rest: float = 0.0,
        v_reset: float | None = -0.1,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        validators.tau(type(self).__name__, tau, "tau")
        _check_reset_order(self, v_threshold, v_reset, v_rest)
        _check_positive(self, "delta_T", delta_T)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = float(tau)
        self.delta_T = float(delta_T)
        self.theta_rh = float(theta_rh)
        self.v_rest = float(v_rest)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """``H = v + (x + v_rest - v + delta_T exp((v - theta_rh) / delta_T)) / tau``."""
        v = self.v
        self.v = v + (x + self.v_rest - v + self.delta_T * torch.exp((v - self.theta_rh) / self.delta_T)) / self.tau

    def cell_params(self) -> tuple[float, ...]:
        return (self.tau, self.delta_T, self.theta_rh, self.v_rest)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={self.tau}, delta_T={self.delta_T}, theta_rh={self.theta_rh}"


class IzhikevichNode(AdaptBaseNode):
    """Izhikevich-type neuron: a quadratic charge with an adaptation current ``w``.

    ``H = V + (X + a0 (V - v_rest)(V - v_c) - W) / tau``; then (see
    :class:`~spikelayers_neuron.base.AdaptBaseNode`) ``W <- W + (a (H - v_rest) - W) / tau_w``,
    spike ``S = heaviside(H - v_threshold)``, reset of ``V`` and ``W <- W + b S``.

    Args:
        tau: membrane time constant, ``> 1``.
        v_c: critical voltage.
        a0: coefficient of the quadratic term, ``> 0``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike (``v`` starts there too), or ``None``.
        v_rest: resting potential.
        w_rest: initial (and reset) value of ``w``.
        tau_w: time constant of ``w``.
        a: subthreshold coupling of ``w`` to ``v - v_rest``.
        b: jump of ``w`` at each spike.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset of ``v`` ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'torch'``, ``'triton'`` or ``'inductor'`` (multi-step mode).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    kernel_op = "neuron.izhikevich_multi_step"
    supported_backends = ("torch", "triton", "inductor")

    def __init__(
        self,
        tau: float = 2.0,
        v_c: float = 0.8,
        a0: float = 1.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        v_rest: float = -0.1,
        w_rest: float = 0.0,
        tau_w: float = 2.0,
        a: float = 0.0,
        b: float = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        validators.tau(type(self).__name__, tau, "tau")
        _check_positive(self, "a0", a0)
        super().__init__(
            v_threshold,
            v_reset,
            v_rest,
            w_rest,
            tau_w,
            a,
            b,
            surrogate_function,
            detach_reset,
            step_mode,
            backend,
            store_v_seq,
        )
        self.tau = float(tau)
        self.v_c = float(v_c)
        self.a0 = float(a0)

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """``H = v + (x + a0 (v - v_rest)(v - v_c) - w) / tau``."""
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c) - self.w) / self.tau

    def izhikevich_config(self, store_v_seq: bool) -> IzhikevichConfig:
        """The constants of the fused kernel."""
        return IzhikevichConfig(
            tau=self.tau,
            v_c=self.v_c,
            a0=self.a0,
            v_rest=self.v_rest,
            tau_w=self.tau_w,
            a=self.a,
            b=self.b,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate_function,
            store_v_seq=store_v_seq,
        )

    def _fused_forward(self, kernel: Callable[..., Any], x_seq: torch.Tensor, store_v_seq: bool) -> torch.Tensor:
        x_seq, v0 = self._potential(x_seq, "v")
        x_seq, w0 = self._potential(x_seq, "w")
        x_seq, v0 = x_seq.to(w0.dtype), v0.to(w0.dtype)
        spike_seq, v, w = kernel(x_seq, v0, w0, self.izhikevich_config(store_v_seq))
        self._keep_potential(v, v0, store_v_seq)
        self.w = w
        return spike_seq

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={self.tau}, v_c={self.v_c}, a0={self.a0}"
