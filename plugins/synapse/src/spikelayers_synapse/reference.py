"""The readable definition of the synapse filter, one step at a time.

The fused path in :mod:`spikelayers_synapse.fused` (and the triton kernel) must give
exactly what this loop gives, outputs and gradients; the tests hold them to it.
"""

from __future__ import annotations

import torch


def reference_synapse_filter(x_seq: torch.Tensor, i0: torch.Tensor, decay: float | torch.Tensor) -> torch.Tensor:
    """Run ``I <- I - (1 - S) * I * decay + S`` over ``T``.

    Args:
        x_seq: input ``S`` of shape ``[T, *]``.
        i0: the current before the first step, shape ``[*]``.
        decay: ``1 / tau``, a float or a 0-D tensor (which then receives a gradient).

    Returns:
        The current after every step, ``[T, *]``; the last entry is the final state.
    """
    current = i0
    outputs = []
    for s in x_seq:
        current = current - (1.0 - s) * current * decay + s
        outputs.append(current)
    return torch.stack(outputs)
