"""The synapse filter over a whole sequence as one autograd function.

The forward runs the recurrence ``I_t = a_t * I_{t-1} + S_t`` with
``a_t = 1 - k * (1 - S_t)`` and ``k = 1 / tau`` into one preallocated output; the
backward runs the adjoint recurrence over ``T`` in place, so no per-step autograd graph
is built. Saved for backward: the input ``S`` and the output ``I`` (which the caller
holds anyway) and the initial current. The readable definition is
:func:`spikelayers_synapse.reference.reference_synapse_filter`.
"""

from __future__ import annotations

from typing import Any

import torch

from spikelayers.kernels import reference_under_torch_func

from .reference import reference_synapse_filter


def _decay_value(decay: float | torch.Tensor) -> float | torch.Tensor:
    """``k`` as a float, or as a detached 0-D tensor: never read back to the host (no sync,
    no graph break under ``torch.compile``)."""
    return decay.detach() if isinstance(decay, torch.Tensor) else float(decay)


# Positions per block: the recurrence walks over T one block of the flattened positions
# at a time, so that the running current and the step slices stay in cache.
BLOCK = 1 << 18


def _blocks(M: int) -> range:
    return range(0, M, BLOCK) if M > 0 else range(0)


def filter_forward(x: torch.Tensor, i0: torch.Tensor, k: float | torch.Tensor) -> torch.Tensor:
    """Forward recurrence over the contiguous ``x`` ``[T, M]`` from ``i0`` ``[M]``; returns ``[T, M]``.

    ``k`` is a float or a 0-D tensor (a learnable decay, never read back to the host).
    """
    T, M = x.shape
    out = torch.empty_like(x)
    for start in _blocks(M):
        stop = min(start + BLOCK, M)
        xb, ob = x[:, start:stop], out[:, start:stop]
        previous = i0[start:stop]
        for t in range(T):
            if isinstance(k, torch.Tensor):
                # I_t = (k * S_t + 1 - k) * I_{t-1} + S_t
                step = torch.mul(xb[t], k, out=ob[t]).add_(1.0 - k).mul_(previous).add_(xb[t])
            else:
                # I_t = S_t + k * S_t * I_{t-1} + (1 - k) * I_{t-1}
                step = torch.addcmul(xb[t], xb[t], previous, value=k, out=ob[t])
                step.add_(previous, alpha=1.0 - k)
            previous = step
    return out


def filter_backward(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    out: torch.Tensor,
    i0: torch.Tensor,
    k: float | torch.Tensor,
    need_decay: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Adjoint recurrence over ``T`` (all tensors ``[T, M]`` / ``[M]``; all but ``grad_out`` contiguous).

    Returns the gradients of the input ``[T, M]``, of the initial current ``[M]`` and,
    when ``need_decay``, of ``k`` (a 0-D tensor accumulated in float64).
    """
    T, M = x.shape
    grad_x = torch.empty_like(x)
    grad_i0 = torch.empty_like(i0)
    grad_k = torch.zeros((), dtype=torch.float64, device=x.device) if need_decay else None
    carry_buffer = torch.empty(min(M, BLOCK), dtype=x.dtype, device=x.device)
    scratch_buffer = torch.empty_like(carry_buffer) if need_decay else None
    # Per position, the running sum over t of dL/dI_t * dI_t/dk; reduced once per block.
    decay_buffer = torch.empty_like(carry_buffer) if need_decay else None
    for start in _blocks(M):
        stop = min(start + BLOCK, M)
        size = stop - start
        gob, xb, ob, gxb = (a[:, start:stop] for a in (grad_out, x, out, grad_x))
        carry = carry_buffer[:size]
        if need_decay:
            decay_sum = decay_buffer[:size].zero_()
        for t in range(T - 1, -1, -1):
            previous = ob[t - 1] if t > 0 else i0[start:stop]
            # g = dL/dI_t: the incoming gradient plus the carry from step t + 1
            g = gxb[t].copy_(gob[t]) if t == T - 1 else torch.add(gob[t], carry, out=gxb[t])
            # carry = dL/dI_{t-1} = g * (1 - k + k * S_t)
            if isinstance(k, torch.Tensor):
                torch.mul(xb[t], k, out=carry).add_(1.0 - k).mul_(g)
            else:
                torch.mul(g, 1.0 - k, out=carry)
                carry.addcmul_(g, xb[t], value=k)
            if need_decay:
                # dI_t/dk = (S_t - 1) * I_{t-1}
                scratch = torch.mul(g, previous, out=scratch_buffer[:size])
                decay_sum.addcmul_(scratch, xb[t]).sub_(scratch)
                g.add_(scratch.mul_(k))  # dL/dS_t = g * (1 + k * I_{t-1})
            elif isinstance(k, torch.Tensor):
                g.addcmul_(g, torch.mul(previous, k))
            else:
                g.addcmul_(g, previous, value=k)
        grad_i0[start:stop] = carry
        if need_decay:
            grad_k += decay_sum.sum(dtype=torch.float64)
    return grad_x, grad_i0, grad_k


class SynapseFilterFunction(torch.autograd.Function):
    """``(x [T, M], i0 [M], decay) -> I [T, M]``; ``decay`` is ``1/tau`` (0-D tensor or float)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, i0: torch.Tensor, decay: float | torch.Tensor) -> torch.Tensor:
        k = _decay_value(decay)
        out = filter_forward(x, i0, k)
        ctx.k = k
        ctx.decay_is_tensor = isinstance(decay, torch.Tensor)
        ctx.decay_dtype = decay.dtype if isinstance(decay, torch.Tensor) else None
        ctx.save_for_backward(x, out, i0)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, out, i0 = ctx.saved_tensors
        need_decay = ctx.decay_is_tensor and ctx.needs_input_grad[2]
        grad_x, grad_i0, grad_k = filter_backward(grad_out, x, out, i0, ctx.k, need_decay)
        if grad_k is not None:
            grad_k = grad_k.to(ctx.decay_dtype)
        return (
            grad_x if ctx.needs_input_grad[0] else None,
            grad_i0 if ctx.needs_input_grad[1] else None,
            grad_k,
        )


@reference_under_torch_func(reference_synapse_filter)
def synapse_filter(x_seq: torch.Tensor, i0: torch.Tensor, decay: float | torch.Tensor) -> torch.Tensor:
    """The synapse filter over ``x_seq`` ``[T, *]`` from ``i0`` ``[*]`` (``decay = 1/tau``).

    Returns the current after every step, ``[T, *]``. Same maths as
    :func:`~spikelayers_synapse.reference.reference_synapse_filter`, which runs instead
    under a :mod:`torch.func` transform.
    """
    T = x_seq.shape[0]
    shape = x_seq.shape
    x = x_seq.contiguous().reshape(T, -1)
    i0_flat = i0.to(x.dtype).contiguous().reshape(-1)
    out = SynapseFilterFunction.apply(x, i0_flat, decay)
    return out.view(shape)
