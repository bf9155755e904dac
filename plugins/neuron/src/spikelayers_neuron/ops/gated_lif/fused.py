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

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

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
    dtype of ``v0`` (the compute dtype)."""

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
        gain_steps = gain.expand(T, *gain.shape[1:]) if gain.shape[0] == 1 else gain
        leak_gamma = leak * gamma
        v = v0
        scratch = torch.empty_like(v0)
        for t in range(T):
            u = u_seq[t]
            torch.addcmul(-decay, x_seq[t].to(dtype), gain_steps[t], out=u)  # gain x - decay
            u.addcmul_(v, leak)
            if t > 0:
                s = s_seq[t - 1]
                u.addcmul_(torch.mul(v, s, out=scratch), leak_gamma, value=-1.0).addcmul_(s, drop, value=-1.0)
            s_seq[t] = surrogate(u - theta)
            v = u
        ctx.surrogate = surrogate
        ctx.save_for_backward(x_seq, v0, u_seq, s_seq, leak, gamma, drop, decay, gain, theta)
        return s_seq, u_seq[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_s: torch.Tensor | None, grad_v: torch.Tensor | None) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x_seq, v0, u_seq, s_seq, leak, gamma, drop, decay, gain, theta = ctx.saved_tensors
        T = u_seq.shape[0]
        dtype = u_seq.dtype
        sg = surrogate_derivative_(ctx.surrogate, u_seq - theta)
        grad_s = torch.zeros_like(u_seq) if grad_s is None else grad_s.to(dtype)
        grad_u = torch.empty_like(u_seq)  # G[t] = dL/du[t]
        grad_z = torch.empty_like(u_seq)  # dL/ds[t] * sg[t] = dL/d(u[t] - theta)
        carried_by_state = leak * (1 - gamma * s_seq)  # du[t+1]/du[t], all t at once
        leak_gamma = leak * gamma
        torch.mul(grad_s[T - 1], sg[T - 1], out=grad_z[T - 1])
        if grad_v is None:
            grad_u[T - 1].copy_(grad_z[T - 1])
        else:
            torch.add(grad_z[T - 1], grad_v.to(dtype), out=grad_u[T - 1])
        scratch = torch.empty_like(u_seq[0])
        for t in range(T - 2, -1, -1):
            following = grad_u[t + 1]
            # dL/ds[t] = grad_s[t] - G[t+1] * (leak gamma u[t] + drop)
            torch.addcmul(drop, u_seq[t], leak_gamma, out=scratch)
            torch.addcmul(grad_s[t], following, scratch, value=-1.0, out=grad_z[t]).mul_(sg[t])
            torch.addcmul(grad_z[t], following, carried_by_state[t], out=grad_u[t])

        v_prev = torch.cat([v0.unsqueeze(0), u_seq[:-1]])
        s_prev = torch.cat([torch.zeros_like(s_seq[:1]), s_seq[:-1]])
        grads: list[torch.Tensor | None] = [None] * 9
        needs = ctx.needs_input_grad
        if needs[0]:
            grads[0] = (grad_u * gain).to(x_seq.dtype)
        if needs[1]:
            grads[1] = grad_u[0] * leak
        if needs[2]:
            grads[2] = (grad_u * v_prev * (1 - gamma * s_prev)).sum_to_size(leak.shape)
        if needs[3]:
            grads[3] = -(grad_u * leak * v_prev * s_prev).sum_to_size(gamma.shape)
        if needs[4]:
            grads[4] = -(grad_u * s_prev).sum_to_size(drop.shape)
        if needs[5]:
            grads[5] = -grad_u.sum_to_size(decay.shape)
        if needs[6]:
            grads[6] = (grad_u * x_seq.to(dtype)).sum_to_size(gain.shape)
        if needs[7]:
            grads[7] = -grad_z.sum_to_size(theta.shape)
        return tuple(grads)


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
