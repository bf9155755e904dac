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

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

from .dynamics import NeuronConfig, charge, single_step
from .ops.blocks import block_pieces, block_rows, column_blocks
from .surrogate import fused_derivative


class FusedNeuronFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k) -> (spike_seq [T, N, *], v_seq [T, N, *] or v_T [N, *])``.

    Both passes run column block by column block (:func:`~.ops.blocks.column_blocks`):
    neurons are independent, so each block's recurrence keeps its working set in cache.
    """

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T, neurons = x_seq.shape[0], v0.numel()
        k_value = k.detach() if isinstance(k, torch.Tensor) else k
        x = x_seq.reshape(T, neurons)
        start = v0.detach().reshape(neurons)
        # Pre-spike potentials are kept per step: step-sized blocks are recycled by the
        # allocator, whereas a fresh [T, N, *] block costs page faults on every call.
        h_steps = [torch.empty(neurons, dtype=x.dtype, device=x.device) for _ in range(T)]
        spikes = torch.empty((T, neurons), dtype=x.dtype, device=x.device)
        v_seq = torch.empty_like(spikes) if config.store_v_seq else None
        v_last = torch.empty_like(start)
        for block in column_blocks(neurons, x.element_size(), x.device):
            v, v_out = start[block], v_last[block]
            x_rows, spike_rows, h_rows = block_rows(x, block), block_rows(spikes, block), block_pieces(h_steps, block)
            v_rows = None if v_seq is None else block_rows(v_seq, block)
            for t in range(T):
                h = charge(x_rows[t], v, k_value, config, out=h_rows[t])
                v = _fire_and_reset(h, config, spike_rows[t], v_out if v_rows is None else v_rows[t])
        ctx.config = config
        ctx.k_value = k_value
        ctx.k_is_tensor = isinstance(k, torch.Tensor)
        ctx.h_steps = h_steps
        ctx.shapes = (x_seq.shape, v0.shape)
        if config.kind == "plif":
            ctx.save_for_backward(v0, x_seq if config.decay_input else None)
        spikes = spikes.view(x_seq.shape)
        if v_seq is not None:
            return spikes, v_seq.view(x_seq.shape)
        return spikes, (v_last.view(v0.shape) if T > 0 else v0.clone())

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        config: NeuronConfig = ctx.config
        h_steps: list[torch.Tensor] = ctx.h_steps
        seq_shape, v_shape = ctx.shapes
        T, neurons = len(h_steps), math.prod(v_shape)
        reference = grad_spike if grad_spike is not None else grad_v
        # grad_h[t] becomes dL/dh_t, and then dL/dx_t in place.
        grad_h = torch.empty((T, neurons), dtype=reference.dtype, device=reference.device)
        grad_s = grad_spike.reshape(T, neurons) if grad_spike is not None else None
        grad_v_flat = None if grad_v is None else grad_v.reshape(T if config.store_v_seq else 1, neurons)
        wants_v0 = ctx.needs_input_grad[1] and T > 0
        grad_v0 = torch.empty(neurons, dtype=grad_h.dtype, device=grad_h.device) if wants_v0 else None
        wants_k = ctx.k_is_tensor and ctx.needs_input_grad[2]
        grad_k = grad_h.new_zeros((), dtype=torch.float64) if wants_k else None
        plif_inputs = _plif_inputs(ctx, neurons) if wants_k else None
        carry = 1.0 if config.kind == "if" else 1.0 - ctx.k_value
        for block in column_blocks(neurons, grad_h.element_size(), grad_h.device):
            grad_h_rows, h_rows = block_rows(grad_h, block), block_pieces(h_steps, block)
            _block_backward(
                grad_h_rows,
                h_rows,
                None if grad_s is None else block_rows(grad_s, block),
                None if grad_v_flat is None else block_rows(grad_v_flat, block),
                carry,
                config,
            )
            if grad_v0 is not None:
                torch.mul(grad_h_rows[0], carry, out=grad_v0[block])
            if grad_k is not None:
                grad_k += _plif_grad_k(plif_inputs, block, h_rows, grad_h_rows, config)
            if config.kind != "if" and config.decay_input:  # dL/dx = k dL/dh, while the block is in cache
                grad_h[:, block].mul_(ctx.k_value)
        grad_x = grad_h.view(seq_shape) if ctx.needs_input_grad[0] else None
        grad_k_out = grad_k.to(ctx.k_value.dtype) if grad_k is not None else None
        return grad_x, None if grad_v0 is None else grad_v0.view(v_shape), grad_k_out, None


def _fire_and_reset(h: torch.Tensor, config: Any, spike_out: torch.Tensor, v_out: torch.Tensor) -> torch.Tensor:
    """Write the spike of ``h`` into ``spike_out`` and the reset potential into ``v_out`` (returned)."""
    return _reset_into(h, torch.ge(h, config.v_threshold, out=spike_out), config, v_out)


def _reset_into(h: torch.Tensor, spike: torch.Tensor, config: Any, out: torch.Tensor) -> torch.Tensor:
    """The potential after firing ``spike`` from ``h``, written into ``out``: ``h - v_threshold *
    spike`` (soft reset) or ``h * (1 - spike) + v_reset * spike`` (hard). ``config`` is any
    neuron config with ``v_threshold`` and ``v_reset``."""
    if config.v_reset is None:
        return torch.sub(h, spike, alpha=config.v_threshold, out=out)
    v = torch.addcmul(h, h, spike, value=-1.0, out=out)
    return v.add_(spike, alpha=config.v_reset) if config.v_reset != 0.0 else v


def _block_backward(
    grad_h: Sequence[torch.Tensor],
    h_steps: Sequence[torch.Tensor],
    grad_spike: Sequence[torch.Tensor] | None,
    grad_v: Sequence[torch.Tensor] | None,
    carry: float | torch.Tensor,
    config: NeuronConfig,
) -> None:
    """Write ``dL/dh_t`` into ``grad_h[t]`` for one column block, every argument given step
    by step (``[B]`` each).

    ``h_steps`` are the block's pre-spike potentials, ``grad_spike`` the spikes' gradients
    (or ``None``), ``grad_v`` those of ``v_seq`` (``T`` steps, ``store_v_seq``), of the last
    potential (one) or ``None``. ``dL/dv_t`` is ``carry * dL/dh_{t+1}`` plus ``v``'s own
    gradient at step ``t``.
    """
    T = len(h_steps)
    if T == 0:
        return
    scratch = torch.empty_like(grad_h[0])
    not_fired = torch.empty_like(scratch) if config.v_reset is not None else None
    zeros = torch.zeros_like(scratch) if grad_spike is None else None
    per_step_v = grad_v is not None and len(grad_v) == T and config.store_v_seq
    carried = torch.empty_like(scratch)
    grad_v_next: torch.Tensor | None = grad_v[-1] if grad_v is not None else None  # dL/dv_t = scale * grad_v_next
    scale: float = 1.0
    for t in range(T - 1, -1, -1):
        sg = torch.sub(h_steps[t], config.v_threshold, out=grad_h[t])
        config.surrogate.derivative_(sg)
        grad_s = zeros if grad_spike is None else grad_spike[t]
        _step_backward(sg, h_steps[t], grad_s, grad_v_next, scale, config, scratch, not_fired)
        if t == 0:
            break
        if per_step_v:  # v_seq's own gradient joins the carried one
            if isinstance(carry, torch.Tensor):
                grad_v_next = torch.mul(sg, carry, out=carried).add_(grad_v[t - 1])
            else:
                grad_v_next = torch.add(grad_v[t - 1], sg, alpha=carry, out=carried)
            scale = 1.0
        elif isinstance(carry, torch.Tensor):  # a tensor carry (PLIF) cannot be a scalar factor
            grad_v_next, scale = torch.mul(sg, carry, out=carried), 1.0
        else:
            grad_v_next, scale = sg, carry


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


def _plif_inputs(ctx: Any, neurons: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """PLIF's saved ``(v0 [M], x_seq [T, M] or None)``, flattened over neurons."""
    v0, x_seq = ctx.saved_tensors
    return v0.detach().reshape(neurons), None if x_seq is None else x_seq.detach().reshape(x_seq.shape[0], neurons)


def _plif_grad_k(
    inputs: tuple[torch.Tensor, torch.Tensor | None],
    block: slice,
    h_steps: Sequence[torch.Tensor],
    grad_h: Sequence[torch.Tensor],
    config: NeuronConfig,
) -> torch.Tensor:
    """One column block's ``sum_t dL/dh_t * dh_t/dk`` where ``dh_t/dk = [x_t] + v_r - v_{t-1}``."""
    v0, x_seq = inputs
    slope = torch.empty_like(grad_h[0])
    fired, v_prev = torch.empty_like(slope), torch.empty_like(slope)
    total = slope.new_zeros((), dtype=torch.float64)
    for t in range(len(h_steps)):
        # v_{t-1}: the initial potential, or rebuilt from h_{t-1} as the forward computed it
        v = v0[block] if t == 0 else _fire_and_reset(h_steps[t - 1], config, fired, v_prev)
        if x_seq is not None:
            torch.sub(x_seq[t, block], v, out=slope)
        else:
            torch.neg(v, out=slope)
        if config.charge_reset != 0.0:
            slope.add_(config.charge_reset)
        total += slope.mul_(grad_h[t]).sum(dtype=torch.float64)
    return total


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

    A surrogate whose ``derivative`` the fused function may not use
    (:func:`~spikelayers_neuron.surrogate.fused_derivative`: none, a non-spiking one, or a
    subclass that overrides its forward without its derivative) runs as a differentiable
    loop of single steps instead, and so does every call under a :mod:`torch.func` transform.
    """
    if fused_derivative(config.surrogate) is None:
        return _loop(x_seq, v0, k, config)
    return FusedNeuronFunction.apply(x_seq, v0, k, config)
