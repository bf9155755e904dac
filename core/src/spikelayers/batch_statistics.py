"""Training-mode batch normalisation in few passes over memory, with statistics per group.

:func:`grouped_batch_norm` normalises ``x`` ``[G, N, C, *]`` with one mean and variance per
(group, channel), taken over ``N`` and ``*``: a sum, then the centred values and their
per-row norms, then one scale-and-shift in place. Its backward is torch's own batch-norm
backward, group by group. With ``G = 1`` it is a batch norm; with one group per time step
it is batch norm through time (BNTT).

:func:`batch_norm` is a drop-in for calling a :class:`torch.nn.BatchNorm1d`/``2d``/``3d``
module: in training on large CPU inputs it takes :func:`grouped_batch_norm` (torch's CPU
kernel walks each channel's ``N`` blocks separately and takes about twice as long on
``[T*N, C, *]`` activations); otherwise, and wherever the module's behaviour could differ
(hooks, an overridden ``forward``, :mod:`torch.func`, ``torch.compile``), it calls the
module itself. :func:`batch_norm_reference` is the readable definition it is held to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.nn.modules import module as module_hooks
from torch.nn.modules.batchnorm import _BatchNorm

from .kernels import torch_func_active

FAST_PATH_MIN_ELEMENTS = 2**19
"""Below this many elements, torch's batch norm costs less than the kernel's fixed overhead."""

FAST_PATH_MIN_ROW = 64
"""Below this many values per (sample, channel) row, torch's batch norm is faster."""

FAST_PATH_DTYPES = (torch.float32, torch.float64)


class _GroupedBatchNorm(torch.autograd.Function):
    """``(x - mean) * rsqrt(var + eps) * weight + bias`` with per-(group, channel) batch statistics.

    ``x`` is ``[G, N, C, *]``, handled as ``[G, N, C, L]`` (the rows must be contiguous);
    ``weight`` and ``bias`` are ``[G, C]`` or ``None``. Returns the output, the means and
    the (biased) variances ``[G, C]``. Only the input and the statistics are saved.
    """

    @staticmethod
    def forward(
        x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = rows_of(x)
        groups, channels = rows.shape[0], rows.shape[2]
        count = rows.shape[1] * rows.shape[3]
        mean = rows.sum(dim=(1, 3), keepdim=True) / count
        y = rows - mean
        # per-row norms reduce in one read (a dot product of y with itself writes y * y first)
        var = torch.linalg.vector_norm(y, dim=-1).square_().sum(dim=1) / count
        scale = torch.rsqrt(var + eps)
        if weight is not None:
            scale = scale * weight
        scale = scale.view(groups, 1, channels, 1)
        y.mul_(scale)
        if bias is not None:
            y.add_(bias.view(groups, 1, channels, 1))  # (an in-place addcmul runs at half the speed)
        return y.view(x.shape), mean.view(groups, channels), var

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
        x, weight, bias, eps = inputs
        _, mean, var = output
        ctx.save_for_backward(x, weight, mean, var)
        ctx.eps = eps
        ctx.has_bias = bias is not None
        ctx.mark_non_differentiable(mean, var)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor, _grad_mean, _grad_var):  # type: ignore[no-untyped-def]
        # One native batch-norm backward per group: each fuses its two reductions and the
        # element-wise pass, and is itself differentiable (second derivatives account for
        # the statistics' dependence on x).
        x, weight, mean, var = ctx.saved_tensors
        rows, grad_rows = rows_of(x), grad_y.reshape(rows_of(x).shape)
        invstd = torch.rsqrt(var + ctx.eps)
        mask = [
            ctx.needs_input_grad[0],
            weight is not None and ctx.needs_input_grad[1],
            ctx.has_bias and ctx.needs_input_grad[2],
        ]
        grads: list[list[torch.Tensor]] = [[], [], []]
        for g in range(rows.shape[0]):
            step_weight = None if weight is None else weight[g]
            results = torch.ops.aten.native_batch_norm_backward(
                grad_rows[g], rows[g], step_weight, None, None, mean[g], invstd[g], True, ctx.eps, mask
            )
            for collected, result in zip(grads, results, strict=True):
                collected.append(result)
        grad_x, grad_weight, grad_bias = (
            _stack(collected) if wanted else None for collected, wanted in zip(grads, mask)
        )
        if grad_x is not None:
            grad_x = grad_x.view(x.shape)
        return grad_x, grad_weight, grad_bias, None


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack per-group results (one group: a view, not a copy)."""
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


def rows_of(x: torch.Tensor) -> torch.Tensor:
    """``[G, N, C, *]`` as ``[G, N, C, L]`` (a view when ``x`` allows it)."""
    return x.reshape(*x.shape[:3], math.prod(x.shape[3:]))


def grouped_batch_norm(
    x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalise ``x`` ``[G, N, C, *]`` with batch statistics per (group, channel).

    ``weight`` and ``bias`` are ``[G, C]`` or ``None``. Returns ``y`` ``[G, N, C, *]``, the
    means and the biased variances ``[G, C]`` (not differentiable).
    """
    return _GroupedBatchNorm.apply(x, weight, bias, eps)


@torch.no_grad()
def update_running_statistics(norms: Sequence[_BatchNorm], mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
    """Move each norm's running mean and (unbiased) variance towards its group's batch statistics.

    ``mean`` and ``var`` are ``[G, C]`` (biased variances over ``count`` values), one row
    per norm. Each norm counts the batch in ``num_batches_tracked``; ``momentum=None``
    gives a cumulative average, in which each norm has its own count.
    """
    counters = [norm.num_batches_tracked for norm in norms]
    torch._foreach_add_(counters, 1)
    momentum = norms[0].momentum
    factors = [1.0 / float(c) for c in counters] if momentum is None else [momentum] * len(norms)
    unbiased = var * (count / max(count - 1, 1))
    for buffers, batch in (
        ([norm.running_mean for norm in norms], list(mean.unbind(0))),
        ([norm.running_var for norm in norms], list(unbiased.unbind(0))),
    ):
        torch._foreach_mul_(buffers, [1.0 - f for f in factors])
        torch._foreach_add_(buffers, torch._foreach_mul(batch, factors))


def batch_norm_reference(x: torch.Tensor, norm: _BatchNorm) -> torch.Tensor:
    """Readable definition: ``norm``'s own forward on ``x`` ``[N, C, *]``."""
    return _BatchNorm.forward(norm, x)


def _stock_forward(norm: _BatchNorm) -> bool:
    """Whether ``norm`` runs torch's batch-norm forward (its class does not override it)."""
    return type(norm).forward is _BatchNorm.forward


def _has_hooks(module: torch.nn.Module) -> bool:
    """Whether calling ``module`` would run a forward or backward hook (its own or a global one)."""
    own = (module._forward_hooks, module._forward_pre_hooks, module._backward_hooks, module._backward_pre_hooks)
    global_hooks = (
        module_hooks._global_forward_hooks,
        module_hooks._global_forward_pre_hooks,
        module_hooks._global_backward_hooks,
        module_hooks._global_backward_pre_hooks,
    )
    return any(own) or any(global_hooks)


def takes_fast_batch_norm(x: torch.Tensor, norm: _BatchNorm) -> bool:
    """Whether :func:`batch_norm_forward` runs :func:`grouped_batch_norm` for this call."""
    batch_statistics = norm.training or (norm.running_mean is None and norm.running_var is None)
    return (
        batch_statistics
        and x.device.type == "cpu"
        and x.dtype in FAST_PATH_DTYPES
        and x.dim() >= 2
        and x.numel() >= FAST_PATH_MIN_ELEMENTS
        and x.shape[1] == norm.num_features
        and x.numel() > x.shape[1]  # more than one value per channel (torch raises otherwise)
        and x.is_contiguous()  # (torch's backward takes a slow path for strided inputs)
        and math.prod(x.shape[2:]) >= FAST_PATH_MIN_ROW
        and all(t.dtype == x.dtype and t.device == x.device for t in (norm.weight, norm.running_mean) if t is not None)
        and not torch_func_active()
        and not torch.compiler.is_compiling()
    )


def batch_norm_forward(x: torch.Tensor, norm: _BatchNorm) -> torch.Tensor:
    """What :meth:`torch.nn.modules.batchnorm._BatchNorm.forward` gives for ``x`` ``[N, C, *]``
    (output, running statistics, ``num_batches_tracked``), faster where
    :func:`takes_fast_batch_norm`. For a class that overrides ``forward`` to call instead of it."""
    if not takes_fast_batch_norm(x, norm):
        if norm.training and x.dim() >= 2 and x.numel() == x.shape[1] > 0:
            # torch would count the batch before refusing it
            raise ValueError(
                f"{type(norm).__name__}: expected more than 1 value per channel when training, "
                f"got input shape {tuple(x.shape)}"
            )
        return batch_norm_reference(x, norm)
    norm._check_input_dim(x)
    weight = None if norm.weight is None else norm.weight.unsqueeze(0)
    bias = None if norm.bias is None else norm.bias.unsqueeze(0)
    y, mean, var = grouped_batch_norm(x.unsqueeze(0), weight, bias, norm.eps)
    if norm.training and norm.track_running_stats and norm.running_mean is not None:
        update_running_statistics([norm], mean, var, x.numel() // x.shape[1])
    elif norm.training and norm.track_running_stats and norm.num_batches_tracked is not None:
        norm.num_batches_tracked.add_(1)
    return y.squeeze(0)


def batch_norm(x: torch.Tensor, norm: torch.nn.Module) -> torch.Tensor:
    """``norm(x)``, through :func:`batch_norm_forward` when ``norm`` is a torch batch norm
    whose call would run nothing else (no hooks, no overridden ``forward``)."""
    if isinstance(norm, _BatchNorm) and _stock_forward(norm) and not _has_hooks(norm):
        return batch_norm_forward(x, norm)
    return norm(x)


__all__ = [
    "FAST_PATH_MIN_ELEMENTS",
    "FAST_PATH_MIN_ROW",
    "batch_norm",
    "batch_norm_forward",
    "batch_norm_reference",
    "grouped_batch_norm",
    "takes_fast_batch_norm",
    "update_running_statistics",
]
