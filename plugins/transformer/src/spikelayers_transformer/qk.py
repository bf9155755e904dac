"""QKFormer's Q-K attention: a spiking mask from the queries gates the keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from spikelayers.containers import SeqToANNContainer

from . import fused
from ._checks import check_input, set_heads
from .neurons import ATTENTION_LIF_DEFAULTS, LIF_DEFAULTS, make_neuron

QKA_TYPES = ("token", "channel")


class QKAttention(nn.Module):
    """Q-K attention of QKFormer, multi-step only: ``[T, N, C, L] -> [T, N, C, L]`` spikes.

    ``qk_lif(BN(Conv1d(x)))`` gives the spikes Q and K (channels ``[0, C)`` and ``[C, 2C)``,
    split into heads as in :class:`~spikelayers_transformer.ssa.SpikingSelfAttention`).
    ``'token'`` sums each head's Q over its channels (one value per token), ``'channel'``
    over the tokens (one value per channel); ``attn_lif`` turns the sums into a spike mask
    that multiplies K, and the output is ``proj_lif(BN(Conv1d(mask * K)))``.

    Args:
        dim: ``C``, the channels (divisible by ``num_heads``).
        num_heads: number of heads.
        qka_type: ``'token'`` or ``'channel'`` (read-only afterwards).
        spiking_neuron, kwargs: the neurons' class and keyword arguments, as in
            :class:`~spikelayers_transformer.ssa.SpikingSelfAttention`.
    """

    keeps_child_step_mode = True  # its neurons always run whole sequences
    summary: ClassVar[Callable[[torch.Tensor, int, str], tuple[torch.Tensor, torch.Tensor]]] = staticmethod(
        fused.qk_summary
    )

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        qka_type: str = "token",
        spiking_neuron: Callable[..., nn.Module] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        set_heads(self, dim, num_heads)
        if qka_type not in QKA_TYPES:
            raise ValueError(f"{name}: qka_type must be one of {QKA_TYPES}, got {qka_type!r}")
        self._qka_type = qka_type
        self.qk_conv_bn = SeqToANNContainer(nn.Conv1d(dim, 2 * dim, kernel_size=1, bias=False), nn.BatchNorm1d(2 * dim))
        self.qk_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)
        self.attn_lif = make_neuron(name, spiking_neuron, kwargs, ATTENTION_LIF_DEFAULTS)
        self.proj_conv_bn = SeqToANNContainer(nn.Conv1d(dim, dim, kernel_size=1, bias=False), nn.BatchNorm1d(dim))
        self.proj_lif = make_neuron(name, spiking_neuron, kwargs, LIF_DEFAULTS)

    @property
    def qka_type(self) -> str:
        """``'token'`` or ``'channel'``."""
        return self._qka_type

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, L]`` -> ``[T, N, C, L]`` spikes."""
        check_input(self, x_seq, 4, "[T, N, C, L]")
        qk = self.qk_lif(self.qk_conv_bn(x_seq))
        summary, keys = self.summary(qk, self.num_heads, self.qka_type)
        gated = self.attn_lif(summary) * keys
        return self.proj_lif(self.proj_conv_bn(gated.flatten(2, 3)))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, qka_type={self.qka_type}"


class _FixedQKAttention(QKAttention):
    """:class:`QKAttention` whose ``qka_type`` is the class's :attr:`fixed_qka_type`."""

    fixed_qka_type: ClassVar[str]

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        spiking_neuron: Callable[..., nn.Module] | None = None,
        **kwargs: Any,
    ) -> None:
        if "qka_type" in kwargs:
            raise TypeError(f"{type(self).__name__}: qka_type is fixed to {self.fixed_qka_type!r} and cannot be passed")
        super().__init__(dim, num_heads, qka_type=self.fixed_qka_type, spiking_neuron=spiking_neuron, **kwargs)


class TokenQKAttention(_FixedQKAttention):
    """:class:`QKAttention` with ``qka_type='token'``: one mask value per head and token."""

    fixed_qka_type = "token"


class ChannelQKAttention(_FixedQKAttention):
    """:class:`QKAttention` with ``qka_type='channel'``: one mask value per head and channel."""

    fixed_qka_type = "channel"
