"""The readable definition of the neurons' multi-step dynamics.

A plain loop over time of the documented formulas, differentiated by autograd. The
fused kernel in :mod:`spikelayers_neuron.fused` is tested against it.
"""

from __future__ import annotations

import torch

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
