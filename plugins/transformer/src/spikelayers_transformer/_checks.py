"""Argument and input checks shared by the blocks; every message names the block."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.shapes import check_dim


def check_heads(block: str, dim: int, num_heads: int) -> None:
    """Raise ``ValueError`` unless ``num_heads`` is a positive integer dividing ``dim``."""
    for name, value in (("dim", dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{block}: {name} must be a positive integer, got {value!r}")
    if dim % num_heads:
        raise ValueError(f"{block}: dim={dim} must be divisible by num_heads={num_heads}")


def set_heads(block: nn.Module, dim: int, num_heads: int) -> None:
    """:func:`check_heads`, then set ``block.dim``, ``block.num_heads`` and ``block.head_dim``."""
    check_heads(type(block).__name__, dim, num_heads)
    block.dim = dim
    block.num_heads = num_heads
    block.head_dim = dim // num_heads


def check_input(block: nn.Module, x: torch.Tensor, rank: int, layout: str) -> None:
    """Raise ``ValueError`` naming ``block`` unless ``x`` has ``rank`` dims and ``C == block.dim``."""
    check_dim(block, x, rank, layout)
    if x.shape[2] != block.dim:
        raise ValueError(
            f"{type(block).__name__} expects input {layout} with C={block.dim} (dim), got shape {tuple(x.shape)}"
        )
