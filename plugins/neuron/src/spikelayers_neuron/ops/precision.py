"""The dtype the neuron kernels compute in."""

from __future__ import annotations

import torch


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The promoted dtype of ``tensors``, at least ``float32``.

    Spikes are thresholds of sums; reduced-precision sums would flip spikes, so the
    kernels take half-precision inputs, compute in float32 and return the input dtype.
    """
    dtype = torch.float32
    for tensor in tensors:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return dtype
