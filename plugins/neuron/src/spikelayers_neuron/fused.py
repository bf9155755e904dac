"""The fused path of IF, LIF and PLIF neurons (PyTorch backend).

One :class:`torch.autograd.Function` per call runs the whole sequence: the forward
loops over ``T`` writing into preallocated buffers and keeps only the pre-spike
membrane potentials ``h_t``; the backward rebuilds everything else from them and
runs the membrane-gradient recursion over ``T`` in reverse. Single-step mode runs the
same function with ``T = 1``, so both modes agree bit for bit. Readable definition:
:mod:`spikelayers_neuron.reference`.

Backward recursion (``A_t = dv_t/dh_t``, ``c = dh_{t+1}/dv_t``: 1 for IF, ``1 - k``
for LIF/PLIF)::

    dL/dh_t = sg_t * dL/ds_t + A_t * dL/dv_t,    dL/dv_{t-1} = c * dL/dh_t
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

from .dynamics import NeuronConfig, charge, single_step
from .surrogate import SurrogateFunctionBase


class FusedNeuronFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k) -> (spike_seq [T, N, *], v_seq [T, N, *] or v_T [N, *])``."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T = x_seq.shape[0]
        k_value = k.detach() if isinstance(k, torch.Tensor) else k
        # Pre-spike potentials are kept per step: step-sized blocks are recycled by the
        # allocator, whereas a fresh [T, N, *] block costs page faults on every call.
        h_steps: list[torch.Tensor] = []
        s_seq = torch.empty(x_seq.shape, dtype=x_seq.dtype, device=x_seq.device)
        v_seq = torch.empty_like(s_seq) if config.store_v_seq else None
        v_buffer = None if config.store_v_seq else torch.empty_like(v0)
        hard = config.v_reset is not None
        v_th = config.v_threshold
        v = v0
        for t in range(T):
            h = charge(x_seq[t], v, k_value, config)
            h_steps.append(h)
            v_next = v_seq[t] if v_seq is not None else v_buffer
            spike = torch.ge(h, v_th, out=s_seq[t])
            if hard:  # h * (1 - spike) + v_reset * spike
                torch.addcmul(h, h, spike, value=-1.0, out=v_next)
                if config.v_reset != 0.0:
                    v_next.add_(spike, alpha=config.v_reset)
            else:  # h - v_threshold * spike
                torch.sub(h, spike, alpha=v_th, out=v_next)
            v = v_next
        ctx.config = config
        ctx.k_value = k_value
        ctx.k_is_tensor = isinstance(k, torch.Tensor)
        ctx.h_steps = h_steps
        ctx.shape = x_seq.shape
        if config.kind == "plif":
            ctx.save_for_backward(v0, x_seq if config.decay_input else None)
        if T == 0:
            return s_seq, v_seq if v_seq is not None else v0.clone()
        return s_seq, v_seq if v_seq is not None else v

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        config: NeuronConfig = ctx.config
        h_steps: list[torch.Tensor] = ctx.h_steps
        T = len(h_steps)
        v_th, v_reset = config.v_threshold, config.v_reset
        # A learnable decay stays a 0-D tensor: reading it as a float would be a host sync
        # (and a graph break under torch.compile).
        k = ctx.k_value

        # grad_h holds sg_t = surrogate'(h_t - v_th) until step t of the reverse loop
        # turns it into dL/dh_t. dL/dv_t is carry * dL/dh_{t+1} (plus v_seq's own gradient),
        # so the loop reads it from grad_h[t + 1] scaled by `scale` instead of copying it.
        grad_h = torch.empty(
            ctx.shape,
            dtype=grad_spike.dtype if grad_spike is not None else grad_v.dtype,
            device=grad_spike.device if grad_spike is not None else grad_v.device,
        )
        for t, h in enumerate(h_steps):
            torch.sub(h, v_th, out=grad_h[t])
        config.surrogate.derivative_(grad_h)
        if grad_spike is None:
            grad_spike = torch.zeros_like(grad_h)
        scratch = torch.empty_like(grad_h[0]) if T > 0 else None
        not_fired = torch.empty_like(scratch) if v_reset is not None and T > 0 else None
        carried = torch.empty_like(scratch) if T > 0 and config.store_v_seq and grad_v is not None else None
        carry = 1.0 if config.kind == "if" else 1.0 - k
        # A tensor carry (PLIF) cannot be a scalar factor: the carried gradient is scaled into a buffer.
        scaled = torch.empty_like(scratch) if isinstance(carry, torch.Tensor) and T > 0 else None
        grad_v_next: torch.Tensor | None = None  # dL/dv_t = scale * grad_v_next
        scale = 1.0
        if grad_v is not None and T > 0:
            grad_v_next = grad_v[T - 1] if config.store_v_seq else grad_v
        for t in range(T - 1, -1, -1):
            _step_backward(grad_h[t], h_steps[t], grad_spike[t], grad_v_next, scale, config, scratch, not_fired)
            if carried is not None and t > 0:
                if scaled is not None:
                    grad_v_next = torch.mul(grad_h[t], carry, out=carried).add_(grad_v[t - 1])
                else:
                    grad_v_next = torch.add(grad_v[t - 1], grad_h[t], alpha=carry, out=carried)
                scale = 1.0
            elif scaled is not None:
                grad_v_next, scale = torch.mul(grad_h[t], carry, out=scaled), 1.0
            else:
                grad_v_next, scale = grad_h[t], carry

        grad_v0 = grad_h[0] * carry if ctx.needs_input_grad[1] and T > 0 else None
        grad_k = None
        if ctx.k_is_tensor and ctx.needs_input_grad[2]:
            grad_k = _plif_grad_k(ctx, h_steps, grad_h).to(ctx.k_value.dtype)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_h.mul_(k) if config.kind != "if" and config.decay_input else grad_h
        return grad_x, grad_v0, grad_k, None


def _step_backward(
    sg: torch.Tensor,
    h: torch.Tensor,
    grad_spike: torch.Tensor,
    grad_v: torch.Tensor | None,
    scale: float,
    config: NeuronConfig,
    scratch: torch.Tensor,
    not_fired: torch.Tensor | None,
) -> None:
    """Overwrite ``sg`` (one step, ``[N, *]``) with ``dL/dh = sg * dL/ds + dv/dh * dL/dv``.

    ``dL/dv`` is ``scale * grad_v`` (``None`` means 0). ``dv/dh`` is
    ``1 - spike + (v_reset - h) * sg`` for a hard reset and ``1 - v_threshold * sg`` for
    a soft one; ``detach_reset`` drops the ``sg`` terms.
    """
    if grad_v is None:
        sg.mul_(grad_spike)
        return
    v_th, v_reset = config.v_threshold, config.v_reset
    if v_reset is None:
        if config.detach_reset:
            sg.mul_(grad_spike)
        else:  # sg * (dL/ds - v_th * dL/dv) + dL/dv
            sg.mul_(torch.add(grad_spike, grad_v, alpha=-v_th * scale, out=scratch))
        sg.add_(grad_v, alpha=scale)
        return
    if config.detach_reset:
        sg.mul_(grad_spike)
    else:  # sg * (dL/ds + (v_reset - h) * dL/dv) + (1 - spike) * dL/dv
        if v_reset == 0.0:
            torch.addcmul(grad_spike, h, grad_v, value=-scale, out=scratch)
        else:
            torch.add(grad_spike, grad_v, alpha=v_reset * scale, out=scratch).addcmul_(h, grad_v, value=-scale)
        sg.mul_(scratch)
    torch.lt(h, v_th, out=not_fired)
    sg.addcmul_(grad_v, not_fired, value=scale)


def _plif_grad_k(ctx: Any, h_steps: list[torch.Tensor], grad_h: torch.Tensor) -> torch.Tensor:
    """``sum_t dL/dh_t * dh_t/dk`` where ``dh_t/dk = [x_t] + v_r - v_{t-1}``."""
    config: NeuronConfig = ctx.config
    v0, x_seq = ctx.saved_tensors
    v_th, v_r = config.v_threshold, config.charge_reset
    slope = torch.empty_like(grad_h[0])
    fired = torch.empty_like(slope)
    total = grad_h.new_zeros((), dtype=torch.float64)
    for t in range(len(h_steps)):
        if t == 0:
            slope.copy_(v0)
        else:  # v_{t-1} rebuilt from h_{t-1}, as the forward computed it
            h = h_steps[t - 1]
            torch.ge(h, v_th, out=fired)
            if config.v_reset is None:
                torch.sub(h, fired, alpha=v_th, out=slope)
            else:
                torch.addcmul(h, h, fired, value=-1.0, out=slope)
                if config.v_reset != 0.0:
                    slope.add_(fired, alpha=config.v_reset)
        slope.neg_().add_(v_r)
        if x_seq is not None:
            slope.add_(x_seq[t])
        total += slope.mul_(grad_h[t]).sum(dtype=torch.float64)
    return total


def _has_derivative(surrogate: Any) -> bool:
    if not isinstance(surrogate, SurrogateFunctionBase):
        return False
    return type(surrogate).derivative is not SurrogateFunctionBase.derivative


def _loop(
    x_seq: torch.Tensor, v: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    spikes, potentials = [], []
    for x in x_seq:
        spike, v = single_step(x, v, k, config)
        spikes.append(spike)
        potentials.append(v)
    if not spikes:
        return torch.empty_like(x_seq), (torch.empty_like(x_seq) if config.store_v_seq else v)
    return torch.stack(spikes), torch.stack(potentials) if config.store_v_seq else v


@reference_under_torch_func(_loop)
def neuron_multi_step(
    x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``T`` neuron steps (the ``'torch'`` kernel of the op ``"neuron.multi_step"``).

    Args:
        x_seq: input ``[T, N, *]``.
        v0: membrane potential before the first step ``[N, *]``.
        k: ``1/tau`` (LIF), ``sigmoid(w)`` as a tensor (PLIF) or ``None`` (IF).
        config: the neuron's constants.

    Returns:
        ``(spike_seq [T, N, *], v)``; ``v`` is ``v_seq [T, N, *]`` when
        ``config.store_v_seq``, else the last potential ``[N, *]``.

    A surrogate that is not a :class:`SurrogateFunctionBase` with a ``derivative`` runs
    as a differentiable loop of single steps instead of the fused function, and so does
    every call under a :mod:`torch.func` transform.
    """
    if not _has_derivative(config.surrogate) or not config.surrogate.spiking:
        return _loop(x_seq, v0, k, config)
    return FusedNeuronFunction.apply(x_seq, v0, k, config)
