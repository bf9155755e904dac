"""The fused gated LIF recurrence: one autograd function over the whole sequence.

The gates and sigmoids are folded into per-channel coefficients first (parameter-sized
tensors, through ordinary autograd); :class:`GatedLIFFunction` then runs ::

    u[t] = leak * v[t-1] * (1 - gamma * s[t-1]) - drop * s[t-1] - decay + gain[t] * x[t]
    s[t] = surrogate(u[t] - theta),    v[t] = u[t]

with ``s[-1] = 0``, keeping only ``u`` and ``s`` for the backward, which runs the
recursion in reverse (``G[t] = dL/du[t]``)::

    dL/ds[t] = grad_s[t] - G[t+1] * (leak * gamma * u[t] + drop)
    G[t]     = dL/ds[t] * sg[t] + G[t+1] * leak * (1 - gamma * s[t])

and then every coefficient's gradient as one vectorised sum over time. ``sg`` is the
derivative of the neuron's surrogate on the whole sequence at once (in place for the
built-in surrogates, by autograd of the surrogate module otherwise), so any surrogate
works. Readable definition:
:mod:`.reference`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

from ...surrogate import fused_derivative
from ..blocks import batch_blocks
from ..precision import compute_dtype
from ..surrogate_derivative import surrogate_derivative_
from .reference import GatedLIFParameters, channel_view, gated_lif_reference

Surrogate = Callable[[torch.Tensor], torch.Tensor]


class GatedLIFCoefficients(NamedTuple):
    """The coefficients of the recurrence, each broadcastable to a step ``[N, C, *]``
    (``gain`` to the sequence ``[T, N, C, *]``)."""

    leak: torch.Tensor
    gamma: torch.Tensor
    drop: torch.Tensor
    decay: torch.Tensor
    gain: torch.Tensor
    theta: torch.Tensor


def gated_lif_coefficients(params: GatedLIFParameters, step_dim: int, dtype: torch.dtype) -> GatedLIFCoefficients:
    """Fold the gates of ``params`` into :class:`GatedLIFCoefficients` (differentiable)."""

    def view(p: torch.Tensor) -> torch.Tensor:
        return channel_view(p.to(dtype), step_dim)

    a, b, g = view(params.alpha).sigmoid(), view(params.beta).sigmoid(), view(params.gamma).sigmoid()
    conduct = params.conduct.to(dtype)
    if conduct.dim() == 1:  # layer-wise [T]
        conduct = conduct.view(-1, *([1] * step_dim))
    else:  # channel-wise [T, C] -> [T, 1, C, 1, ...]
        conduct = conduct.view(conduct.shape[0], 1, conduct.shape[1], *([1] * (step_dim - 2)))
    return GatedLIFCoefficients(
        leak=1 - a * (1 - view(params.tau).sigmoid()),
        gamma=g,
        drop=(1 - g) * view(params.v_subreset).sigmoid(),
        decay=(1 - a) * view(params.linear_decay).sigmoid(),
        gain=1 - b * (1 - conduct.sigmoid()),
        theta=view(params.v_threshold).sigmoid(),
    )


class GatedLIFFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], *coefficients) -> (spikes [T, N, *], v [N, *])`` in the
    dtype of ``v0`` (the compute dtype).

    Both passes run a block of whole samples at a time (:func:`..blocks.batch_blocks`; the
    coefficients vary per channel), so a block's recurrence stays in cache; the backward
    sums each coefficient's gradient block by block and step by step.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x_seq: torch.Tensor,
        v0: torch.Tensor,
        leak: torch.Tensor,
        gamma: torch.Tensor,
        drop: torch.Tensor,
        decay: torch.Tensor,
        gain: torch.Tensor,
        theta: torch.Tensor,
        surrogate: Surrogate,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The spikes of the whole sequence (see the class)."""
        dtype = v0.dtype
        T = x_seq.shape[0]
        u_seq = torch.empty(x_seq.shape, dtype=dtype, device=x_seq.device)
        s_seq = torch.empty_like(u_seq)
        leak_gamma = leak * gamma
        heaviside = fused_derivative(surrogate) is not None
        scratch_all = torch.empty_like(v0)
        for block in _blocks(v0):
            v, scratch = v0[block], scratch_all[block]
            for t in range(T):
                u = u_seq[t, block]
                torch.addcmul(-decay, x_seq[t, block].to(dtype), _step(gain, t), out=u)  # gain x - decay
                u.addcmul_(v, leak)
                if t > 0:
                    s = s_seq[t - 1, block]
                    u.addcmul_(torch.mul(v, s, out=scratch), leak_gamma, value=-1.0).addcmul_(s, drop, value=-1.0)
                if heaviside:  # u - theta >= 0 exactly when u >= theta
                    torch.ge(u, theta, out=s_seq[t, block])
                else:
                    s_seq[t, block] = surrogate(u - theta)
                v = u
        ctx.surrogate = surrogate
        ctx.save_for_backward(x_seq, v0, u_seq, s_seq, leak, gamma, drop, decay, gain, theta)
        return s_seq, u_seq[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_s: torch.Tensor | None, grad_v: torch.Tensor | None) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x_seq, v0, u_seq, s_seq, *coefficients = ctx.saved_tensors
        saved = _SavedSequence(x_seq, v0, u_seq, s_seq, tuple(coefficients))
        needs = ctx.needs_input_grad
        sums = [torch.zeros(c.shape, dtype=c.dtype, device=c.device) for c in coefficients]
        grad_x = torch.empty(x_seq.shape, dtype=x_seq.dtype, device=x_seq.device) if needs[0] else None
        grad_v0 = torch.empty_like(v0) if needs[1] else None
        buffers = [torch.empty_like(v0) for _ in range(5)]
        for block in _blocks(v0):
            grad_u = _block_backward(
                ctx.surrogate,
                block,
                saved,
                grad_s,
                grad_v,
                grad_x,
                sums,
                [b[block] for b in buffers],
                needs[2:8],
            )
            if grad_v0 is not None:
                torch.mul(grad_u, saved.coefficients[0], out=grad_v0[block])
        return (grad_x, grad_v0, *(s if need else None for s, need in zip(sums, needs[2:8])), None)


class _SavedSequence(NamedTuple):
    """What the backward reads: the input, initial potential, potentials and spikes
    ``[T, N, *]`` (``v0`` ``[N, *]``), and the coefficients (leak, gamma, drop, decay, gain, theta)."""

    x_seq: torch.Tensor
    v0: torch.Tensor
    u_seq: torch.Tensor
    s_seq: torch.Tensor
    coefficients: tuple[torch.Tensor, ...]


def _blocks(v0: torch.Tensor) -> list[slice]:
    """Blocks of whole samples of ``v0`` ``[N, *]`` (one slice for a single-sample state)."""
    if v0.dim() < 2:
        return [slice(None)]
    return batch_blocks(v0.shape[0], math.prod(v0.shape[1:]), v0.element_size(), v0.device)


def _step(coefficient: torch.Tensor, t: int) -> torch.Tensor:
    """Step ``t`` of a coefficient that is per step (``[T, ...]``) or shared (``[1, ...]``)."""
    return coefficient[t if coefficient.shape[0] > 1 else 0]


def _block_backward(
    surrogate: Surrogate,
    block: slice,
    saved: _SavedSequence,
    grad_s: torch.Tensor | None,
    grad_v: torch.Tensor | None,
    grad_x: torch.Tensor | None,
    sums: list[torch.Tensor],
    buffers: list[torch.Tensor],
    needs: tuple[bool, ...],
) -> torch.Tensor:
    """One block's reverse recursion: writes ``grad_x[:, block]``, adds to the coefficient
    gradients ``sums``, and returns ``G[0] = dL/du[0]`` (``[b, *]``, in ``buffers``)."""
    u_seq, s_seq = saved.u_seq, saved.s_seq
    leak, gamma, drop, _, gain, theta = saved.coefficients
    leak_gamma = leak * gamma
    grad_u, following, grad_z, scratch, term = buffers  # G[t], G[t+1], dL/d(u[t] - theta)
    T = u_seq.shape[0]
    for t in range(T - 1, -1, -1):
        u, s = u_seq[t, block], s_seq[t, block]
        sg = surrogate_derivative_(surrogate, torch.sub(u, theta, out=grad_z))  # sg[t]
        if sg is not grad_z:  # a surrogate differentiated by autograd gives a new tensor
            grad_z.copy_(sg)
        if t == T - 1:
            if grad_s is None:
                grad_z.zero_()
            else:
                grad_z.mul_(grad_s[t, block])
            grad_u.copy_(grad_z)
            if grad_v is not None:
                grad_u.add_(grad_v[block])
        else:
            following.copy_(grad_u)
            # dL/ds[t] = grad_s[t] - G[t+1] * (leak gamma u[t] + drop)
            torch.addcmul(drop, u, leak_gamma, out=scratch).mul_(following).neg_()
            if grad_s is not None:
                scratch.add_(grad_s[t, block])
            grad_z.mul_(scratch)
            # G[t] = dL/ds[t] sg[t] + G[t+1] leak (1 - gamma s[t])
            torch.mul(s, gamma, out=scratch).neg_().add_(1.0).mul_(leak).mul_(following)
            torch.add(grad_z, scratch, out=grad_u)
        if grad_x is not None:
            torch.mul(grad_u, _step(gain, t), out=grad_x[t, block])
        _add_coefficient_gradients(t, block, saved, grad_u, grad_z, sums, term, needs)
    return grad_u


def _add_coefficient_gradients(
    t: int,
    block: slice,
    saved: _SavedSequence,
    grad_u: torch.Tensor,
    grad_z: torch.Tensor,
    sums: list[torch.Tensor],
    term: torch.Tensor,
    needs: tuple[bool, ...],
) -> None:
    """Add step ``t``'s share of each needed coefficient gradient (``du[t]/dc * G[t]``)."""
    x_seq, v0, u_seq, s_seq, coefficients = saved
    leak, gamma, _, _, gain, theta = coefficients
    v_prev = v0[block] if t == 0 else u_seq[t - 1, block]
    s_prev = None if t == 0 else s_seq[t - 1, block]
    if needs[0]:  # leak: G v_prev (1 - gamma s_prev)
        if s_prev is None:
            torch.mul(grad_u, v_prev, out=term)
        else:
            torch.mul(s_prev, gamma, out=term).neg_().add_(1.0).mul_(v_prev).mul_(grad_u)
        sums[0] += term.sum_to_size(leak.shape)
    if s_prev is not None and needs[1]:  # gamma: -G leak v_prev s_prev
        sums[1] -= torch.mul(grad_u, v_prev, out=term).mul_(s_prev).mul_(leak).sum_to_size(gamma.shape)
    if s_prev is not None and needs[2]:  # drop: -G s_prev
        sums[2] -= torch.mul(grad_u, s_prev, out=term).sum_to_size(sums[2].shape)
    if needs[3]:  # decay: -G
        sums[3] -= grad_u.sum_to_size(sums[3].shape)
    if needs[4]:  # gain: G x
        index = t if gain.shape[0] > 1 else 0
        x = x_seq[t, block]
        sums[4][index] += torch.mul(grad_u, x.to(grad_u.dtype), out=term).sum_to_size(gain.shape[1:])
    if needs[5]:  # theta: -dL/d(u - theta)
        sums[5] -= grad_z.sum_to_size(theta.shape)


@reference_under_torch_func(gated_lif_reference)
def gated_lif_multi_step(
    x_seq: torch.Tensor, v0: torch.Tensor, params: GatedLIFParameters, surrogate: Surrogate
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_seq [T, N, *], v0 [N, *]) -> (spikes [T, N, *], v [N, *])`` in ``x_seq``'s dtype,
    the numbers of :func:`.reference.gated_lif_reference`."""
    dtype = compute_dtype(x_seq, v0, *params)
    c = gated_lif_coefficients(params, x_seq.dim() - 1, dtype)
    spikes, v = GatedLIFFunction.apply(x_seq, v0.to(dtype), *c, surrogate)
    return spikes.to(x_seq.dtype), v.to(x_seq.dtype)
