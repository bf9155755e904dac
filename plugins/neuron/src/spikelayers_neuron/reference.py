"""The readable definition of the neurons' multi-step dynamics.

Plain loops over time of the documented formulas, differentiated by autograd. The fused
kernels in :mod:`spikelayers_neuron.fused` and :mod:`spikelayers_neuron.fused_cells` are
tested against them.
"""

from __future__ import annotations

import torch

from .cells import CellConfig, IzhikevichConfig, cell_charge, izhikevich_charge
from .dynamics import NeuronConfig


def reference_multi_step(
    x_seq: torch.Tensor, v: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``T`` steps from membrane potential ``v`` ``[N, *]``.

    Args:
        x_seq: input ``[T, N, *]``.
        v: initial membrane potential ``[N, *]``.
        k: ``1/tau`` for LIF and PLIF (a tensor for PLIF), ``None`` for IF.
        config: the neuron's constants.

    Returns:
        ``(spike_seq, v_seq)``, both ``[T, N, *]``; ``v_seq[t]`` is the potential after
        the reset of step ``t``.
    """
    v_r = 0.0 if config.v_reset is None else config.v_reset
    spikes, potentials = [], []
    for x in x_seq:
        if config.kind == "if":
            h = v + x
        elif config.decay_input:
            h = v + (x - (v - v_r)) * k
        else:
            h = v - (v - v_r) * k + x
        spike = config.surrogate(h - config.v_threshold)
        spike_r = spike.detach() if config.detach_reset else spike
        if config.v_reset is None:
            v = h - config.v_threshold * spike_r
        else:
            v = (1.0 - spike_r) * h + spike_r * config.v_reset
        spikes.append(spike)
        potentials.append(v)
    return torch.stack(spikes), torch.stack(potentials)


def reference_cell_multi_step(
    x_seq: torch.Tensor, v: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``T`` steps of a QIF/EIF/KLIF cell from ``v`` ``[N, *]``; autograd differentiates.

    Returns:
        ``(spike_seq, v_seq)``, both ``[T, N, *]``.
    """
    spikes, potentials = [], []
    for x in x_seq:
        h = cell_charge(x, v, k, config)
        spike = config.surrogate(h - config.v_threshold)
        spike_r = spike.detach() if config.detach_reset else spike
        if config.v_reset is None:
            v = h - config.v_threshold * spike_r
        else:
            v = (1.0 - spike_r) * h + spike_r * config.v_reset
        spikes.append(spike)
        potentials.append(v)
    return _stack(spikes, x_seq), _stack(potentials, x_seq)


def reference_izhikevich_multi_step(
    x_seq: torch.Tensor, v: torch.Tensor, w: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``T`` Izhikevich steps from ``(v, w)`` ``[N, *]``; autograd differentiates.

    Each step: charge ``H``, adaptation ``w <- w + (a (H - v_rest) - w) / tau_w``, spike,
    reset of ``v`` (the spike scaling ``v_reset`` is never detached) and ``w <- w + b S``.

    Returns:
        ``(spike_seq, v_seq, w)``: ``[T, N, *]``, ``[T, N, *]`` and the last ``w`` ``[N, *]``.
    """
    spikes, potentials = [], []
    for x in x_seq:
        h = izhikevich_charge(x, v, w, config)
        w = w + (config.a * (h - config.v_rest) - w) / config.tau_w
        spike = config.surrogate(h - config.v_threshold)
        spike_r = spike.detach() if config.detach_reset else spike
        # the spike that scales v_reset is never detached
        hard = (1.0 - spike_r) * h + spike * config.v_reset if config.v_reset is not None else None
        v = h - config.v_threshold * spike_r if hard is None else hard
        w = w + config.b * spike
        spikes.append(spike)
        potentials.append(v)
    return _stack(spikes, x_seq), _stack(potentials, x_seq), w


def _stack(steps: list[torch.Tensor], x_seq: torch.Tensor) -> torch.Tensor:
    return torch.stack(steps) if steps else torch.empty_like(x_seq)
