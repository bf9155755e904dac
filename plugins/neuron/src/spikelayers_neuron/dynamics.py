"""The arithmetic of one neuron step, shared by single-step mode and the fused kernel.

Both paths call these functions (the fused kernel with ``out=`` buffers), so a
multi-step call computes bit for bit the values of a loop of single steps.

Shapes: ``x`` and ``v`` are one step, ``[N, *]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .surrogate import SurrogateFunctionBase

KINDS = ("if", "lif", "plif")


@dataclass(frozen=True)
class NeuronConfig:
    """Everything but the tensors that a neuron step needs.

    Args:
        kind: ``"if"``, ``"lif"`` or ``"plif"``.
        v_threshold: firing threshold.
        v_reset: hard-reset value, or ``None`` for a soft reset (subtract the threshold).
        detach_reset: cut the reset's dependence on the spike from the graph.
        surrogate: the surrogate-gradient function of the spike.
        decay_input: whether the input is scaled by ``1/tau`` (LIF and PLIF).
        store_v_seq: whether multi-step mode returns every step's membrane potential.
    """

    kind: str
    v_threshold: float
    v_reset: float | None
    detach_reset: bool
    surrogate: SurrogateFunctionBase
    decay_input: bool = True
    store_v_seq: bool = False

    @property
    def charge_reset(self) -> float:
        """The rest potential used in the charge: ``v_reset``, or 0 when it is ``None``."""
        return 0.0 if self.v_reset is None else self.v_reset


def charge(
    x: torch.Tensor,
    v: torch.Tensor,
    k: float | torch.Tensor | None,
    config: NeuronConfig,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """The membrane potential after integrating ``x``, before firing: ``[N, *]``.

    IF: ``v + x``. LIF/PLIF with ``k = 1/tau``: ``v + (x - (v - v_r)) * k`` with
    ``decay_input``, ``v - (v - v_r) * k + x`` without (``v_r`` is ``v_reset``, 0 when
    ``None``). ``out`` (optional) receives the result; it may alias neither ``x`` nor ``v``.
    """
    if config.kind == "if":
        return torch.add(v, x, out=out)
    v_r = config.charge_reset
    if config.decay_input:
        # v + (x + v_r - v) * k
        target = x if v_r == 0.0 else torch.add(x, v_r, out=out)
        return torch.lerp(v, target, k, out=out)
    if isinstance(k, torch.Tensor):
        h = torch.mul(v, 1.0 - k, out=out)
        h = torch.add(h, x, out=out)
    else:
        h = torch.add(x, v, alpha=1.0 - k, out=out)
    if v_r != 0.0:
        h = torch.add(h, v_r * k, out=out)
    return h


def reset(h: torch.Tensor, spike: torch.Tensor, config: NeuronConfig) -> torch.Tensor:
    """The membrane potential after firing ``spike`` from ``h`` (``[N, *]``).

    Hard reset: ``h * (1 - spike) + v_reset * spike``; soft reset (``v_reset=None``):
    ``h - v_threshold * spike``. ``spike`` is detached first when ``detach_reset``.
    """
    if config.detach_reset:
        spike = spike.detach()
    if config.v_reset is None:
        return torch.sub(h, spike, alpha=config.v_threshold)
    v = h * (1.0 - spike)
    if config.v_reset != 0.0:
        v = v + config.v_reset * spike
    return v


def single_step(
    x: torch.Tensor, v: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """One differentiable step: ``(spike, v_next)``, both ``[N, *]``."""
    h = charge(x, v, k, config)
    spike = config.surrogate(h - config.v_threshold)
    return spike, reset(h, spike, config)
