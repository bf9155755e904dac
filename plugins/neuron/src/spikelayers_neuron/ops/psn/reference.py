"""The parallel spiking neurons written step by step from their equations.

``H[t] = B[t] + sum_j W[t, j] X[j]`` and ``S[t] = surrogate(H[t])`` (the surrogate's
Heaviside step fires where ``H[t] >= 0``, so ``-B`` is the threshold). Every function
takes ``x_seq`` ``[T, N, *]``, computes in float32 (or wider) and returns spikes shaped
and typed like ``x_seq``. The fast paths are in :mod:`.fused`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..precision import compute_dtype

Surrogate = Callable[[torch.Tensor], torch.Tensor]


def psn_reference(x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """PSN: ``H[t] = bias[t] + sum_j weight[t, j] * X[j]`` for ``weight`` ``[T, T]``, ``bias`` ``[T, 1]``."""
    dtype = compute_dtype(x_seq, weight, bias)
    x = x_seq.flatten(1).to(dtype)
    weight, bias = weight.to(dtype), bias.to(dtype)
    T = x.shape[0]
    spikes = []
    for t in range(T):
        h = bias[t]
        for j in range(T):
            h = h + weight[t, j] * x[j]
        spikes.append(surrogate(h))
    return torch.stack(spikes).view(x_seq.shape).to(x_seq.dtype)


def masked_weight_reference(weight: torch.Tensor, k: int, lambda_: float) -> torch.Tensor:
    """``weight * M_k(lambda)``: ``M_k[i][j] = 1`` where ``j <= i <= j + k - 1``, else ``0``;
    ``M_k(lambda) = lambda * M_k + (1 - lambda) * ones`` while ``lambda < 1``, ``M_k`` after."""
    T = weight.shape[0]
    band = torch.zeros(T, T, dtype=weight.dtype)
    for i in range(T):
        for j in range(T):
            if j <= i <= j + k - 1:
                band[i, j] = 1.0
    mask = band if lambda_ >= 1.0 else lambda_ * band + (1.0 - lambda_) * torch.ones(T, T, dtype=weight.dtype)
    return weight * mask


def masked_psn_reference(
    x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, k: int, lambda_: float, surrogate: Surrogate
) -> torch.Tensor:
    """Masked PSN: the PSN with ``weight`` replaced by :func:`masked_weight_reference`."""
    return psn_reference(x_seq, masked_weight_reference(weight, k, lambda_), bias, surrogate)


def sliding_psn_reference(
    x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, surrogate: Surrogate
) -> torch.Tensor:
    """Sliding PSN: ``H[t] = bias + sum_i weight[i] * X[t - k + 1 + i]`` over the steps that exist
    (``weight`` ``[k]``, ``bias`` a scalar tensor)."""
    dtype = compute_dtype(x_seq, weight, bias)
    x = x_seq.flatten(1).to(dtype)
    weight, bias = weight.to(dtype), bias.to(dtype)
    k = weight.shape[0]
    spikes = []
    for t in range(x.shape[0]):
        h = bias
        for i in range(k):
            step = t - k + 1 + i
            if step >= 0:
                h = h + weight[i] * x[step]
        spikes.append(surrogate(h))
    return torch.stack(spikes).view(x_seq.shape).to(x_seq.dtype)
