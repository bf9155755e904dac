"""The gated LIF neuron (GLIF) written step by step from its equations.

With the gates ``a = sigmoid(alpha)``, ``b = sigmoid(beta)``, ``g = sigmoid(gamma)`` and
every other parameter used through a sigmoid, one step ``t`` computes, from the
potential ``v`` left by step ``t - 1`` and its spike ``s`` (0 before the first step)::

    leak = 1 - a * (1 - sigmoid(tau))
    u    = leak * v - (1 - a) * sigmoid(linear_decay) + x[t] * (1 - b * (1 - sigmoid(conduct[t])))
    u    = u - leak * v * g * s - (1 - g) * sigmoid(v_subreset) * s
    s    = surrogate(u - sigmoid(v_threshold));   v = u

Parameters are 0-dim (layer-wise) or ``[C]`` (channel-wise, ``conduct`` ``[T, C]``),
broadcast over the channel dimension ``x[t]`` ``[N, C, *]``. The fast path is in
:mod:`.fused`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from ..precision import compute_dtype


class GatedLIFParameters(NamedTuple):
    """The raw (pre-sigmoid) parameters of a gated LIF neuron."""

    alpha: torch.Tensor
    beta: torch.Tensor
    gamma: torch.Tensor
    tau: torch.Tensor
    v_threshold: torch.Tensor
    linear_decay: torch.Tensor
    v_subreset: torch.Tensor
    conduct: torch.Tensor


def channel_view(p: torch.Tensor, step_dim: int) -> torch.Tensor:
    """``p`` (0-dim or ``[C]``) shaped to broadcast over a step ``[N, C, *]`` of ``step_dim`` dims."""
    if p.dim() == 0:
        return p
    return p.view(-1, *([1] * (step_dim - 2)))


def gated_lif_reference(
    x_seq: torch.Tensor,
    v0: torch.Tensor,
    params: GatedLIFParameters,
    surrogate: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_seq [T, N, *], v0 [N, *]) -> (spikes [T, N, *], v [N, *])``, a differentiable loop over T."""
    dtype = compute_dtype(x_seq, v0, *params)
    step_dim = x_seq.dim() - 1

    def view(p: torch.Tensor) -> torch.Tensor:
        return channel_view(p.to(dtype), step_dim)

    a, b, g = view(params.alpha).sigmoid(), view(params.beta).sigmoid(), view(params.gamma).sigmoid()
    v = v0.to(dtype)
    spike = torch.zeros_like(v)
    spikes = []
    for t in range(x_seq.shape[0]):
        x = x_seq[t].to(dtype)
        leak = 1 - a * (1 - view(params.tau).sigmoid())
        u = (
            leak * v
            - (1 - a) * view(params.linear_decay).sigmoid()
            + x * (1 - b * (1 - view(params.conduct[t]).sigmoid()))
        )
        u = u - leak * v * g * spike - (1 - g) * view(params.v_subreset).sigmoid() * spike
        spike = surrogate(u - view(params.v_threshold).sigmoid())
        v = u
        spikes.append(spike)
    return torch.stack(spikes).to(x_seq.dtype), v.to(x_seq.dtype)
