"""Spikformer's spiking self-attention (SSA)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from spikelayers.containers import SeqToANNContainer

from . import fused
from ._checks import check_input, set_heads
from .neurons import ATTENTION_LIF_DEFAULTS, LIF_DEFAULTS, make_neuron


class SpikingSelfAttention(nn.Module):
    """Spiking self-attention of Spikformer, multi-step only: ``[T, N, C, L] -> [T, N, C, L]`` spikes.

    ``qkv_lif(BN(Conv1d(x)))`` gives the spikes Q, K, V (channels ``[0, C)``, ``[C, 2C)``,
    ``[2C, 3C)``; head ``h`` owns channels ``h * d .. h * d + d - 1`` of each). Per head
    ``A = (V Kᵀ) Q * scale`` (``scale = 0.125``, a constant), then ``attn_lif``, and the
    output is ``proj_lif(BN(Conv1d(A)))``. The 1x1 convolutions have no bias; time is folded
    into the batch for them. The neurons keep their state across calls until ``reset_net``.

    Args:
        dim: ``C``, the channels (divisible by ``num_heads``).
        num_heads: number of heads.
        spiking_neuron: the neuron class; ``None`` for LIF neurons with ``tau=2``,
            ``detach_reset=True`` (``v_threshold=0.5`` for ``attn_lif``).
        **kwargs: passed to every neuron (on top of the LIF defaults when
            ``spiking_neuron`` is ``None``); ``step_mode`` may only be ``'m'``.
    """

    keeps_child_step_mode = True  # its neurons always run whole sequences
    scores: ClassVar[Callable[[torch.Tensor, int, float], torch.Tensor]] = staticmethod(fused.ssa_scores)

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        spiking_neuron: Callable[..., nn.Module] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        set_heads(self, dim, num_heads)
        self.scale = 0.125
        self.qkv_conv_bn = SeqToANNContainer(
            nn.Conv1d(dim, 3 * dim, kernel_size=1, bias=False), nn.BatchNorm1d(3 * dim)
        )
        self.qkv_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)
        self.attn_lif = make_neuron(name, spiking_neuron, kwargs, ATTENTION_LIF_DEFAULTS)
        self.proj_conv_bn = SeqToANNContainer(nn.Conv1d(dim, dim, kernel_size=1, bias=False), nn.BatchNorm1d(dim))
        self.proj_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, L]`` -> ``[T, N, C, L]`` spikes."""
        check_input(self, x_seq, 4, "[T, N, C, L]")
        qkv = self.qkv_lif(self.qkv_conv_bn(x_seq))
        attention = self.attn_lif(self.scores(qkv, self.num_heads, self.scale))
        return self.proj_lif(self.proj_conv_bn(attention.flatten(2, 3)))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"
