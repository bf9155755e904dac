"""TEBN: BatchNorm over ``[T, N, C, *]`` followed by a per-step scale ``k[t]``.

``tebn_reference`` is the plain transcription (BatchNorm with ``T`` folded into the
batch, then a separate scaling pass). ``tebn_forward`` gives the same outputs, running
statistics and gradients. From ``FUSED_MIN_NUMEL`` input elements on it takes one
statistics pass and one output pass: the scale is folded into a per-``(t, c)`` affine
map ``y = A[t, c] * x + B[t, c]``. Below that, where the cost of each op call dominates,
it runs torch's native BatchNorm and one scaling op (:func:`tebn_plain`), which take
fewer calls forward and backward.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

_bn_backward = torch.ops.aten.native_batch_norm_backward

FUSED_MIN_NUMEL = 1 << 21
"""Inputs with at least this many elements take the fused path, smaller ones :func:`tebn_plain`."""


def tebn_reference(bn: nn.modules.batchnorm._BatchNorm, scale: torch.Tensor, x_seq: torch.Tensor) -> torch.Tensor:
    """``y[t] = scale[t] * BN(x)[t]`` with BN over ``T`` and ``N`` together (plain torch).

    Args:
        bn: a torch BatchNorm layer taking ``[N, C, *]``.
        scale: per-step scale ``[T]``.
        x_seq: input ``[T, N, C, *]``.
    """
    z = F.batch_norm(
        x_seq.flatten(0, 1),
        bn.running_mean if not bn.training or bn.track_running_stats else None,
        bn.running_var if not bn.training or bn.track_running_stats else None,
        bn.weight,
        bn.bias,
        bn.training or bn.running_mean is None,
        _running_factor(bn),
        bn.eps,
    ).unflatten(0, x_seq.shape[:2])
    return z * scale.view(-1, *([1] * (x_seq.dim() - 1)))


def _running_factor(bn: nn.modules.batchnorm._BatchNorm) -> float:
    """Count this batch (as torch BatchNorm does) and return its running-average factor."""
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    return factor


def _per_tc(values: torch.Tensor, dim: int) -> torch.Tensor:
    """``[T, C]`` -> ``[T, 1, C, 1, ...]`` for an input of ``dim`` dims."""
    return values.view(values.shape[0], 1, values.shape[1], *([1] * (dim - 3)))


def _channel_sums(g: torch.Tensor, x: torch.Tensor, mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per channel of ``[B, C, *]``: ``sum(g * (x - mean))`` and ``sum(g)`` in one read."""
    ones = torch.ones_like(mean)
    _, weighted, plain = _bn_backward(g, x, None, None, None, mean, ones, True, 0.0, [False, True, True])
    return weighted, plain


def batch_stats(x_seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of ``[T, N, C, *]`` (torch's BatchNorm statistics pass)."""
    return torch.batch_norm_update_stats(x_seq.flatten(0, 1), None, None, 0.0)


class _TEBNBatchStats(torch.autograd.Function):
    """TEBN in training with batch statistics; returns ``y``, the mean and the biased variance."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        scale: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        eps: float,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, var = batch_stats(x)
        invstd = torch.rsqrt(var + eps)
        w = torch.ones_like(mean) if weight is None else weight
        b = torch.zeros_like(mean) if bias is None else bias
        gain = w * invstd
        a = scale[:, None] * gain[None, :]
        shift = scale[:, None] * (b - mean * gain)[None, :]
        y = torch.addcmul(_per_tc(shift, x.dim()), x, _per_tc(a, x.dim()))
        ctx.save_for_backward(x, scale, w, b, mean, invstd, a)
        ctx.affine = (weight is not None, bias is not None)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_y: torch.Tensor, *_: Any) -> tuple[Any, ...]:
        x, scale, w, b, mean, invstd, a = ctx.saved_tensors
        T, C = x.shape[0], x.shape[2]
        count = x.numel() // C
        # Per (t, c): s0 = sum g, s1 = sum g * xhat (one read of g and x).
        s1 = torch.empty(T, C, dtype=mean.dtype, device=x.device)
        s0 = torch.empty_like(s1)
        for t in range(T):
            weighted, plain = _channel_sums(grad_y[t], x[t], mean)
            s1[t] = weighted * invstd
            s0[t] = plain
        grad_bias = (scale[:, None] * s0).sum(0)
        grad_weight = (scale[:, None] * s1).sum(0)
        grad_scale = (s1 * w).sum(1) + (s0 * b).sum(1)
        grad_x = None
        if ctx.needs_input_grad[0]:
            m0 = grad_bias / count
            m1 = grad_weight / count
            gain = w * invstd
            q = -gain * invstd * m1
            r = -gain * m0 - q * mean
            view = [1, 1, C, *([1] * (x.dim() - 3))]
            grad_x = torch.addcmul(r.view(view), x, q.view(view))
            grad_x.addcmul_(grad_y, _per_tc(a, x.dim()))
        has_weight, has_bias = ctx.affine
        return (
            grad_x,
            grad_scale.to(scale.dtype),
            grad_weight if has_weight else None,
            grad_bias if has_bias else None,
            None,
        )


def _check_batch(x_seq: torch.Tensor) -> None:
    """Raise ``ValueError`` (as torch's BatchNorm does) unless each channel has more than one value."""
    if x_seq.numel() <= x_seq.shape[2]:
        raise ValueError(f"Expected more than 1 value per channel when training, got input shape {tuple(x_seq.shape)}")


def tebn_plain(bn: nn.modules.batchnorm._BatchNorm, scale: torch.Tensor, x_seq: torch.Tensor) -> torch.Tensor:
    """TEBN as torch's native BatchNorm over ``[T * N, C, *]`` and one scaling op
    (differentiated by autograd); the path of small inputs.

    Args:
        bn: the BatchNorm whose parameters, buffers and settings are used.
        scale: per-step scale ``[T]``.
        x_seq: input ``[T, N, C, *]``.
    """
    factor = _running_factor(bn)
    training = bn.training
    if training:
        _check_batch(x_seq)
    running_mean = bn.running_mean
    track = not training or bn.track_running_stats
    shape = x_seq.shape
    z = torch.batch_norm(
        x_seq.flatten(0, 1),
        bn.weight,
        bn.bias,
        running_mean if track else None,
        bn.running_var if track else None,
        training or running_mean is None,
        factor,
        bn.eps,
        torch.backends.cudnn.enabled,
    ).view(shape)
    k = scale.view((shape[0],) + (1,) * (len(shape) - 1))
    if torch.is_grad_enabled() or z.dtype != k.dtype:
        return z * k
    return z.mul_(k)


def tebn_forward(bn: nn.modules.batchnorm._BatchNorm, scale: torch.Tensor, x_seq: torch.Tensor) -> torch.Tensor:
    """TEBN with the same results and running-statistics updates as :func:`tebn_reference`:
    :func:`tebn_plain` below ``FUSED_MIN_NUMEL`` input elements, the fused pass from there.

    Args:
        bn: the BatchNorm whose parameters, buffers and settings are used.
        scale: per-step scale ``[T]`` (one entry per step of ``x_seq``).
        x_seq: input ``[T, N, C, *]``.
    """
    if x_seq.numel() < FUSED_MIN_NUMEL:
        return tebn_plain(bn, scale, x_seq)
    return tebn_fused(bn, scale, x_seq)


@reference_under_torch_func(tebn_reference)
def tebn_fused(bn: nn.modules.batchnorm._BatchNorm, scale: torch.Tensor, x_seq: torch.Tensor) -> torch.Tensor:
    """The fused TEBN pass (one statistics pass, one output pass); same results and
    running-statistics updates as :func:`tebn_reference`, which runs instead under a
    :mod:`torch.func` transform.

    Args:
        bn: the BatchNorm whose parameters, buffers and settings are used.
        scale: per-step scale ``[T]`` (one entry per step of ``x_seq``).
        x_seq: input ``[T, N, C, *]``.
    """
    factor = _running_factor(bn)
    batch = bn.training or bn.running_mean is None
    dim = x_seq.dim()
    if batch:
        count = x_seq.numel() // x_seq.shape[2]
        if bn.training:
            _check_batch(x_seq)
        y, mean, var = _TEBNBatchStats.apply(x_seq, scale, bn.weight, bn.bias, bn.eps)
        if bn.training and bn.track_running_stats and bn.running_mean is not None:
            with torch.no_grad():
                bn.running_mean.lerp_(mean.to(bn.running_mean.dtype), factor)
                unbiased = var * (count / max(count - 1, 1))
                bn.running_var.lerp_(unbiased.to(bn.running_var.dtype), factor)
        return y
    gain = torch.rsqrt(bn.running_var + bn.eps)
    shift = -bn.running_mean * gain
    if bn.weight is not None:
        gain = gain * bn.weight
        shift = shift * bn.weight
    if bn.bias is not None:
        shift = shift + bn.bias
    a = scale[:, None] * gain[None, :]
    b = scale[:, None] * shift[None, :]
    return torch.addcmul(_per_tc(b, dim), x_seq, _per_tc(a, dim))
