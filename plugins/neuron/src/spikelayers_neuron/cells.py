"""The arithmetic of one step of the QIF, EIF, KLIF and Izhikevich neurons.

A *cell* charges the membrane potential ``v`` with the input ``x`` into ``h`` (``[N, *]``);
firing (``h >= v_threshold``) and reset follow :mod:`spikelayers_neuron.dynamics`. Beside
each charge are its partial derivatives, which the fused backward
(:mod:`spikelayers_neuron.fused_cells`) chains over time; the readable loop in
:mod:`spikelayers_neuron.reference` differentiates the charges by autograd instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

CELLS = ("qif", "eif", "klif")


@dataclass(frozen=True)
class CellConfig:
    """Everything but the tensors that a cell step needs.

    Args:
        cell: ``"qif"`` (params ``tau, v_c, a0, v_rest``), ``"eif"`` (``tau, delta_T,
            theta_rh, v_rest``) or ``"klif"`` (``tau, decay_input, v_rest``; the
            learnable ``k`` is a tensor argument of the kernel).
        params: the cell's constants, in that order.
        v_threshold: firing threshold.
        v_reset: hard-reset value, or ``None`` for a soft reset.
        detach_reset: cut the reset's dependence on the spike from the graph.
        surrogate: the surrogate-gradient function of the spike.
        store_v_seq: whether multi-step mode returns every step's membrane potential.
    """

    cell: str
    params: tuple[float, ...]
    v_threshold: float
    v_reset: float | None
    detach_reset: bool
    surrogate: Any
    store_v_seq: bool = False


@dataclass(frozen=True)
class IzhikevichConfig:
    """The constants of the Izhikevich neuron (see :class:`~spikelayers_neuron.nonlinear.IzhikevichNode`)."""

    tau: float
    v_c: float
    a0: float
    v_rest: float
    tau_w: float
    a: float
    b: float
    v_threshold: float
    v_reset: float | None
    detach_reset: bool
    surrogate: Any
    store_v_seq: bool = False


def cell_charge(x: torch.Tensor, v: torch.Tensor, k: torch.Tensor | None, config: CellConfig) -> torch.Tensor:
    """The potential ``h`` ``[N, *]`` after charging ``v`` with ``x`` (differentiable).

    QIF: ``v + (x + a0 (v - v_rest)(v - v_c)) / tau``; EIF: ``v + (x + v_rest - v +
    delta_T exp((v - theta_rh) / delta_T)) / tau``; KLIF: ``relu(k * H)`` with the LIF
    charge ``H = v + (x - (v - v_rest)) / tau`` (``decay_input``) or ``v - (v - v_rest) /
    tau + x``.
    """
    if config.cell == "qif":
        tau, v_c, a0, v_rest = config.params
        return v + (x + a0 * (v - v_rest) * (v - v_c)) / tau
    if config.cell == "eif":
        tau, delta_T, theta_rh, v_rest = config.params
        return v + (x + v_rest - v + delta_T * torch.exp((v - theta_rh) / delta_T)) / tau
    tau, decay_input, v_rest = config.params
    leaky = v + (x - (v - v_rest)) / tau if decay_input else v - (v - v_rest) / tau + x
    return torch.relu(k * leaky)


def cell_partials(
    v: torch.Tensor, h: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor | float, torch.Tensor | float, torch.Tensor | None]:
    """``(dh/dx, dh/dv, dh/dk)`` at the step that charged ``v`` into ``h`` (``dh/dk``: KLIF only)."""
    if config.cell == "qif":
        tau, v_c, a0, v_rest = config.params
        return 1.0 / tau, 1.0 + a0 * (2.0 * v - v_rest - v_c) / tau, None
    if config.cell == "eif":
        tau, delta_T, theta_rh, v_rest = config.params
        return 1.0 / tau, 1.0 + (torch.exp((v - theta_rh) / delta_T) - 1.0) / tau, None
    tau, decay_input, _ = config.params
    active = (h > 0).to(h.dtype)
    slope = k * active
    d_leaky = torch.where(active > 0, h / k, torch.zeros_like(h))  # the LIF charge H where k H > 0
    return slope * (1.0 / tau if decay_input else 1.0), slope * (1.0 - 1.0 / tau), d_leaky


def izhikevich_charge(x: torch.Tensor, v: torch.Tensor, w: torch.Tensor, config: IzhikevichConfig) -> torch.Tensor:
    """``H = v + (x + a0 (v - v_rest)(v - v_c) - w) / tau`` ``[N, *]``."""
    return v + (x + config.a0 * (v - config.v_rest) * (v - config.v_c) - w) / config.tau
