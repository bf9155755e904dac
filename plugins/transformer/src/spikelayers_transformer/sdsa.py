"""Spike-driven self-attention (SDSA) of the Spike-driven Transformer, with its residual."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from . import fused
from ._checks import check_input, set_heads
from .neurons import ATTENTION_LIF_DEFAULTS, LIF_DEFAULTS, make_neuron


class SpikeDrivenSelfAttention(nn.Module):
    """Spike-driven self-attention, multi-step only: ``[T, N, C, H, W] -> [T, N, C, H, W]`` (real values).

    ``s = shortcut_lif(x)``; ``q = q_lif(q_bn(q_conv(s)))`` and likewise ``k``, ``v`` (1x1
    convolutions without bias). Per channel, ``kv = attn_lif(sum over the H * W tokens of
    k * v)`` (the neuron sees ``[T, N, heads, 1, d]``); ``z = q * kv`` and the output is
    ``proj_bn(proj_conv(z)) + x`` (``proj_conv`` has a bias; the residual adds the raw input).

    Args:
        dim: ``C``, the channels (divisible by ``num_heads``).
        num_heads: number of heads.
        spiking_neuron, kwargs: the neurons' class and keyword arguments, as in
            :class:`~spikelayers_transformer.ssa.SpikingSelfAttention`.
    """

    keeps_child_step_mode = True  # its neurons always run whole sequences
    key_value: ClassVar[Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]] = staticmethod(fused.sdsa_kv)
    projections: ClassVar[Callable[..., tuple[torch.Tensor, ...]]] = staticmethod(fused.sdsa_qkv)

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
        self.shortcut_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)
        self.q_conv = nn.Conv2d(dim, dim, 1, bias=False)
        self.q_bn = nn.BatchNorm2d(dim)
        self.q_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)
        self.k_conv = nn.Conv2d(dim, dim, 1, bias=False)
        self.k_bn = nn.BatchNorm2d(dim)
        self.k_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)
        self.v_conv = nn.Conv2d(dim, dim, 1, bias=False)
        self.v_bn = nn.BatchNorm2d(dim)
        self.v_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)
        self.attn_lif = make_neuron(name, spiking_neuron, kwargs, ATTENTION_LIF_DEFAULTS)
        self.proj_conv = nn.Conv2d(dim, dim, 1)
        self.proj_bn = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W]`` -> ``[T, N, C, H, W]``, the attention branch plus ``x``."""
        check_input(self, x, 5, "[T, N, C, H, W]")
        s = self.shortcut_lif(x)
        q, k, v = self.projections(s, (self.q_conv, self.k_conv, self.v_conv), (self.q_bn, self.k_bn, self.v_bn))
        q, k, v = self.q_lif(q), self.k_lif(k), self.v_lif(v)
        kv = self.attn_lif(self.key_value(k, v, self.num_heads))
        z = q * kv.reshape(*kv.shape[:2], self.dim, 1, 1)
        return fused.conv_then_norm(z, self.proj_conv, self.proj_bn) + x

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}"
