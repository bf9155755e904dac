"""Column blocks: how the CPU kernels keep the working set of a recurrence in cache.

A neuron's recurrence over ``T`` is element-wise across neurons, so a sequence
``[T, M]`` (``M`` neurons) splits into column blocks ``[T, a:b]`` that are computed
independently. Run step by step over all ``M`` neurons, every element-wise operation
streams a whole step (tens of MiB at typical sizes) through memory; run block by block,
the block's potentials, scratch buffers and surrogate terms stay in the cache and only
the inputs, outputs and saved tensors touch memory. On other devices one block covers
everything (their kernels need no blocking).
"""

from __future__ import annotations

import torch

CPU_BLOCK_BYTES = 2 * 2**20
"""Bytes of one tensor row of a CPU column block (a few such rows fit the last-level cache)."""

_ALIGN = 64
"""Block boundaries fall on multiples of this many elements (whole cache lines)."""


def column_blocks(columns: int, element_size: int, device: torch.device | str) -> list[slice]:
    """Slices covering ``range(columns)``: blocks of at most :data:`CPU_BLOCK_BYTES` per row
    on CPU, one slice elsewhere (and for ``columns == 0``, one empty slice)."""
    if torch.device(device).type != "cpu" or columns == 0:
        return [slice(0, columns)]
    width = max(_ALIGN, CPU_BLOCK_BYTES // max(element_size, 1) // _ALIGN * _ALIGN)
    return [slice(start, min(start + width, columns)) for start in range(0, columns, width)]


def batch_blocks(batch: int, sample_elements: int, element_size: int, device: torch.device | str) -> list[slice]:
    """Slices covering ``range(batch)`` for recurrences whose coefficients vary along the
    other dimensions (per channel, say): whole samples of ``sample_elements`` each, about
    :data:`CPU_BLOCK_BYTES` per block on CPU (at least one sample), one slice elsewhere."""
    if torch.device(device).type != "cpu" or batch == 0:
        return [slice(0, batch)]
    per_block = max(1, CPU_BLOCK_BYTES // max(sample_elements * element_size, 1))
    return [slice(start, min(start + per_block, batch)) for start in range(0, batch, per_block)]


def block_rows(sequence: torch.Tensor, block: slice) -> tuple[torch.Tensor, ...]:
    """The steps of ``sequence[:, block]``: ``[T, M]`` -> ``T`` tensors ``[B]`` (one ``unbind``,
    and no slice when the block is every column)."""
    if block.start in (0, None) and block.stop in (None, sequence.shape[1]):
        return sequence.unbind(0)
    return sequence[:, block].unbind(0)


def block_pieces(tensors: list[torch.Tensor], block: slice) -> list[torch.Tensor]:
    """``tensor[block]`` of each 1-D tensor (the tensors themselves when the block is every column)."""
    if tensors and block.start in (0, None) and block.stop in (None, tensors[0].shape[0]):
        return tensors
    return [tensor[block] for tensor in tensors]
