"""The gated LIF neuron's ``'inductor'`` kernel: both passes compiled for the CPU.

:func:`gated_lif_forward` and :func:`gated_lif_backward` write the recurrence of
:mod:`.fused` once as element-wise PyTorch ops unrolled over ``T``, the coefficients
(per channel or per layer) broadcast over a step ``[N, C, *]``; TorchInductor fuses the
steps into one vectorised loop over the neurons, and the coefficients' gradients into
reductions over the same loop. The forward saves only its inputs; the backward runs the
steps again first. A surrogate without a usable ``derivative``, inputs on other devices,
an empty sequence or batch, a single neuron, and a call inside an enclosing
``torch.compile`` run :func:`.fused.gated_lif_multi_step`. Readable definition:
:mod:`.reference`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from ...surrogate import fused_derivative
from ..compiled import run_compiled, takes_compiled
from ..precision import compute_dtype
from .fused import Surrogate, gated_lif_coefficients, gated_lif_multi_step
from .reference import GatedLIFParameters


def _steps(
    x_seq: torch.Tensor, v0: torch.Tensor, coefficients: tuple[torch.Tensor, ...]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The potentials ``u_t`` and spikes ``s_t`` (``[N, C, *]`` each, in ``v0``'s dtype) of
    ``u[t] = leak v (1 - gamma s) - drop s - decay + gain[t] x[t]``, ``s[t] = u[t] >= theta``,
    from ``v = v0`` and ``s = 0``."""
    leak, gamma, drop, decay, gain, theta = coefficients
    v, spike = v0, None
    potentials, spikes = [], []
    for t, x in enumerate(x_seq.unbind(0)):
        u = gain[t if gain.shape[0] > 1 else 0] * x.to(v0.dtype) - decay + leak * v
        if spike is not None:
            u = u - leak * gamma * v * spike - drop * spike
        spike = (u >= theta).to(u.dtype)
        v = u
        potentials.append(u)
        spikes.append(spike)
    return potentials, spikes


def gated_lif_forward(
    x_seq: torch.Tensor, v0: torch.Tensor, coefficients: tuple[torch.Tensor, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(spikes [T, N, C, *] in x_seq's dtype, v_T [N, C, *])`` of :func:`_steps`."""
    potentials, spikes = _steps(x_seq, v0, coefficients)
    return torch.stack(spikes).to(x_seq.dtype), potentials[-1]


def gated_lif_backward(
    grad_spike: torch.Tensor | None,
    grad_v: torch.Tensor | None,
    x_seq: torch.Tensor,
    v0: torch.Tensor,
    coefficients: tuple[torch.Tensor, ...],
    surrogate: Surrogate,
    needs: tuple[bool, ...],
) -> tuple[torch.Tensor | None, ...]:
    """The gradients of ``(x_seq, v0, leak, gamma, drop, decay, gain, theta)`` (``None``
    where ``needs`` says no), in reverse over ``T`` with ``G[t] = dL/du[t]``::

        dL/ds[t] = grad_s[t] - G[t+1] (leak gamma u[t] + drop)
        G[t]     = sg[t] dL/ds[t] + G[t+1] leak (1 - gamma s[t])

    and each coefficient's gradient ``sum_t G[t] du[t]/dc`` reduced to its shape.
    """
    leak, gamma, drop, _, gain, theta = coefficients
    derivative = surrogate.derivative  # type: ignore[attr-defined]
    potentials, spikes = _steps(x_seq, v0, coefficients)
    T = len(potentials)
    zero = torch.zeros_like(v0)
    following = zero  # G[t + 1]
    grad_x: list[torch.Tensor] = []
    grad_gain: list[torch.Tensor] = []
    sums = {"leak": zero, "gamma": zero, "drop": zero, "decay": zero, "theta": zero}
    for t in range(T - 1, -1, -1):
        u, s = potentials[t], spikes[t]
        sg = derivative(u - theta)
        if t == T - 1:
            grad_s = zero if grad_spike is None else grad_spike[t].to(u.dtype)
            grad_z = sg * grad_s
            grad_u = grad_z if grad_v is None else grad_z + grad_v.to(u.dtype)
        else:
            grad_s = -following * (leak * gamma * u + drop)
            if grad_spike is not None:
                grad_s = grad_s + grad_spike[t].to(u.dtype)
            grad_z = sg * grad_s
            grad_u = grad_z + following * leak * (1 - gamma * s)
        v_prev = v0 if t == 0 else potentials[t - 1]
        x = x_seq[t].to(u.dtype)
        grad_x.append((grad_u * gain[t if gain.shape[0] > 1 else 0]).to(x_seq.dtype))
        grad_gain.append(grad_u * x)
        if t > 0:
            s_prev = spikes[t - 1]
            sums["leak"] = sums["leak"] + grad_u * v_prev * (1 - gamma * s_prev)
            sums["gamma"] = sums["gamma"] - grad_u * leak * v_prev * s_prev
            sums["drop"] = sums["drop"] - grad_u * s_prev
        else:
            sums["leak"] = sums["leak"] + grad_u * v_prev
        sums["decay"] = sums["decay"] - grad_u
        sums["theta"] = sums["theta"] - grad_z
        following = grad_u
    grad_x.reverse()
    grad_gain.reverse()
    if gain.shape[0] == T:  # one gain per step
        gain_grad = torch.stack([g.sum_to_size(gain.shape[1:]) for g in grad_gain])
    else:  # one gain shared by the steps, [1, ...]
        gain_grad = sum(grad_gain[1:], grad_gain[0]).sum_to_size(gain.shape[1:]).unsqueeze(0)
    reduced = [sums[name].sum_to_size(c.shape) for name, c in zip(("leak", "gamma", "drop", "decay"), coefficients)]
    results = [
        torch.stack(grad_x),
        following * leak,
        *reduced,
        gain_grad,
        sums["theta"].sum_to_size(theta.shape),
    ]
    return tuple(r if need else None for r, need in zip(results, needs, strict=True))


class InductorGatedLIFFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], leak, gamma, drop, decay, gain, theta, surrogate) ->
    (spikes [T, N, *] in x_seq's dtype, v [N, *] in v0's dtype)`` through the compiled passes."""

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
        coefficients = tuple(c.detach() for c in (leak, gamma, drop, decay, gain, theta))
        spikes, v = run_compiled(gated_lif_forward, x_seq.detach(), v0.detach(), coefficients)
        ctx.surrogate = surrogate
        ctx.save_for_backward(x_seq, v0, *coefficients)
        return spikes, v

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_s: torch.Tensor | None, grad_v: torch.Tensor | None) -> tuple[Any, ...]:
        """The gradients of the inputs that need one (``None`` for the others)."""
        x_seq, v0, *coefficients = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[:8])
        grads = run_compiled(gated_lif_backward, grad_s, grad_v, x_seq, v0, tuple(coefficients), ctx.surrogate, needs)
        return (*grads, None)


def gated_lif_multi_step_inductor(
    x_seq: torch.Tensor, v0: torch.Tensor, params: GatedLIFParameters, surrogate: Surrogate
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``'inductor'`` kernel of ``"neuron.gated_lif"``; same contract as
    :func:`.fused.gated_lif_multi_step`."""
    if not takes_compiled(x_seq) or fused_derivative(surrogate) is None:
        return gated_lif_multi_step(x_seq, v0, params, surrogate)
    dtype = compute_dtype(x_seq, v0, *params)
    c = gated_lif_coefficients(params, x_seq.dim() - 1, dtype)
    spikes, v = InductorGatedLIFFunction.apply(x_seq, v0.to(dtype), *c, surrogate)
    return spikes, v.to(x_seq.dtype)
