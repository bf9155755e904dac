"""The fused multi-step paths of the QIF, EIF, KLIF and Izhikevich neurons (PyTorch backend).

One :class:`torch.autograd.Function` per call runs the whole sequence without a
per-step graph: the forward keeps only the charged potentials ``h_t``; the backward
rebuilds each ``v_{t-1}`` from ``h_{t-1}`` and chains the partial derivatives of
:mod:`spikelayers_neuron.cells` over ``T`` in reverse::

    dL/dh_t     = sg_t * dL/ds_t + dv_t/dh_t * dL/dv_t
    dL/dv_{t-1} = dh_t/dv_{t-1} * dL/dh_t,       dL/dx_t = dh_t/dx_t * dL/dh_t

Half-precision inputs are computed in float32 and rounded once on output. ``sg_t`` is
the surrogate derivative at ``h_t - v_threshold`` and ``dv_t/dh_t`` the
reset's (``1 - s_t + (v_reset - h_t) sg_t`` hard, ``1 - v_threshold sg_t`` soft; the
``sg_t`` terms vanish with ``detach_reset``). Readable definition:
:mod:`spikelayers_neuron.reference`; a surrogate without a derivative, or a call under a
:mod:`torch.func` transform, runs that loop.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from spikelayers.kernels import reference_under_torch_func

from .cells import CellConfig, IzhikevichConfig
from .fused import _fire_and_reset, _step_backward
from .ops.blocks import block_pieces, block_rows, column_blocks
from .reference import reference_cell_multi_step, reference_izhikevich_multi_step
from .surrogate import apply_derivative_, fused_derivative


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the kernels compute in: float32 for half-precision inputs, else the input's."""
    return torch.promote_types(x.dtype, torch.float32)


def _sequence_buffers(
    x_seq: torch.Tensor, v0: torch.Tensor, dtype: torch.dtype, store_v_seq: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, list[torch.Tensor], torch.Tensor]:
    """A forward's tensors over ``M`` neurons: the input ``[T, M]``, the spikes and (with
    ``store_v_seq``) potentials ``[T, M]`` to fill, ``T`` empty charges ``[M]`` in ``dtype``,
    and the initial potential ``[M]`` in ``dtype``."""
    T, neurons = x_seq.shape[0], v0.numel()
    x = x_seq.reshape(T, neurons)
    spikes = torch.empty_like(x)
    v_seq = torch.empty_like(x) if store_v_seq else None
    h_steps = [torch.empty(neurons, dtype=dtype, device=x.device) for _ in range(T)]
    return x, spikes, v_seq, h_steps, v0.detach().reshape(neurons).to(dtype)


def _charge_into(
    x: torch.Tensor,
    v: torch.Tensor,
    k: torch.Tensor | None,
    config: CellConfig,
    out: torch.Tensor,
    scratch: torch.Tensor,
) -> torch.Tensor:
    """:func:`~spikelayers_neuron.cells.cell_charge` written into ``out`` in place (same maths,
    rearranged): QIF ``(x + a0 v**2 + (tau - a0 (v_rest + v_c)) v + a0 v_rest v_c) / tau``;
    EIF ``(x + v_rest + (tau - 1) v + delta_T e) / tau`` with ``e = exp((v - theta_rh) /
    delta_T)``; KLIF ``relu(k H)`` of the LIF charge ``H``."""
    if config.cell == "qif":
        tau, v_c, a0, v_rest = config.params
        h = torch.addcmul(x, v, v, value=a0, out=out).add_(v, alpha=tau - a0 * (v_rest + v_c))
        if v_rest * v_c != 0.0:
            h.add_(a0 * v_rest * v_c)
        return h.mul_(1.0 / tau)
    if config.cell == "eif":
        tau, delta_T, theta_rh, v_rest = config.params
        e = torch.sub(v, theta_rh, out=scratch).mul_(1.0 / delta_T).exp_()
        h = torch.add(x, e, alpha=delta_T, out=out).add_(v, alpha=tau - 1.0)
        if v_rest != 0.0:
            h.add_(v_rest)
        return h.mul_(1.0 / tau)
    tau, decay_input, v_rest = config.params
    if decay_input:  # v + (x + v_rest - v) / tau
        target = x if v_rest == 0.0 else torch.add(x, v_rest, out=scratch)
        h = torch.lerp(v, target, 1.0 / tau, out=out)
    else:  # v (1 - 1/tau) + x + v_rest / tau
        h = torch.add(x, v, alpha=1.0 - 1.0 / tau, out=out)
        if v_rest != 0.0:
            h.add_(v_rest / tau)
    return h.mul_(k).relu_()


def _fire_into(
    h: torch.Tensor,
    config: Any,
    spike_out: torch.Tensor,
    v_out: torch.Tensor | None,
    same: bool,
    scratch: torch.Tensor,
    v_buffer: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step's spike and reset ``(spike, v)`` ``[B]`` from ``h``, stored in ``spike_out``
    (and ``v_out``, the step of ``v_seq``, if given); written there directly when the compute
    dtype is the output's (``same``), else through ``scratch`` and ``v_buffer``."""
    if same:
        v = _fire_and_reset(h, config, spike_out, v_buffer if v_out is None else v_out)
        return spike_out, v
    v = _fire_and_reset(h, config, scratch, v_buffer)
    spike_out.copy_(scratch)
    if v_out is not None:
        v_out.copy_(v)
    return scratch, v


class FusedCellFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k, config) -> (spike_seq, v_seq [T, N, *] or v_T [N, *])``."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
    ) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = compute_dtype(x_seq)
        k_value = None if k is None else k.detach().to(dtype)
        T, neurons = x_seq.shape[0], v0.numel()
        x, spikes, v_seq, h_steps, start = _sequence_buffers(x_seq, v0, dtype, config.store_v_seq)
        v_last, scratch = torch.empty_like(start), torch.empty_like(start)
        same = dtype == x_seq.dtype
        for block in column_blocks(neurons, start.element_size(), x.device):
            v, v_buffer, scratch_block = start[block], v_last[block], scratch[block]
            x_rows, spike_rows, h_rows = block_rows(x, block), block_rows(spikes, block), block_pieces(h_steps, block)
            v_rows = None if v_seq is None else block_rows(v_seq, block)
            for t in range(T):
                x_t = x_rows[t] if same else x_rows[t].to(dtype)
                h = _charge_into(x_t, v, k_value, config, h_rows[t], scratch_block)
                v_out = None if v_rows is None else v_rows[t]
                _, v = _fire_into(h, config, spike_rows[t], v_out, same, scratch_block, v_buffer)
        ctx.config, ctx.k_value, ctx.h_steps = config, k_value, h_steps
        ctx.dtypes = (x_seq.dtype, v0.dtype, None if k is None else k.dtype)
        ctx.save_for_backward(v0)
        if v_seq is not None:
            return spikes.view(x_seq.shape), v_seq.view(x_seq.shape)
        return spikes.view(x_seq.shape), v_last.view(v0.shape).to(v0.dtype, copy=True) if T else v0.clone()

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        config: CellConfig = ctx.config
        (v0,) = ctx.saved_tensors
        v_shape = v0.shape
        x_dtype, v_dtype, k_dtype = ctx.dtypes
        h_steps: list[torch.Tensor] = ctx.h_steps
        k = ctx.k_value
        T = len(h_steps)
        if T == 0:
            return torch.empty((0, *v0.shape), dtype=x_dtype, device=v0.device), grad_v, None, None
        dtype = h_steps[0].dtype
        neurons = v0.numel()
        v0 = v0.detach().reshape(neurons).to(dtype)
        grad_x = torch.empty((T, neurons), dtype=x_dtype, device=v0.device)
        grad_k = torch.zeros((), dtype=torch.float64, device=v0.device) if k is not None else None
        per_step_v = grad_v is not None and config.store_v_seq
        keeps_grad_v = grad_v is not None and not per_step_v
        gv_all = grad_v.reshape(neurons).to(dtype, copy=True) if keeps_grad_v else torch.zeros_like(v0)
        grad_s = None if grad_spike is None else grad_spike.reshape(T, neurons)
        grad_v_seq = grad_v.reshape(T, neurons) if per_step_v else None
        buffers = [torch.empty_like(v0) for _ in range(4)]
        zeros = torch.zeros_like(v0) if grad_spike is None else None
        for block in column_blocks(neurons, v0.element_size(), v0.device):
            gv = gv_all[block]
            gh, scratch, not_fired, factor = (buffer[block] for buffer in buffers)
            for t in range(T - 1, -1, -1):
                h = h_steps[t][block]
                if grad_v_seq is not None:
                    gv.add_(grad_v_seq[t, block])
                apply_derivative_(config.surrogate, torch.sub(h, config.v_threshold, out=gh))
                grad_spike_t = zeros[block] if grad_s is None else grad_s[t, block]
                if grad_spike_t.dtype != dtype:
                    grad_spike_t = grad_spike_t.to(dtype)
                _step_backward(gh, h, grad_spike_t, gv, 1.0, config, scratch, not_fired)  # gh <- dL/dh_t
                if config.cell == "klif":  # its partials need no v_{t-1}
                    v_prev = not_fired
                elif t > 0:
                    v_prev = _fire_and_reset(h_steps[t - 1][block], config, not_fired, factor)
                else:
                    v_prev = factor.copy_(v0[block])
                _chain_(gh, h, v_prev, k, config, grad_x[t, block], gv, grad_k)
        grad_k_out = grad_k.to(k_dtype) if grad_k is not None and ctx.needs_input_grad[2] else None
        grad_v0 = gv_all.view(v_shape).to(v_dtype) if ctx.needs_input_grad[1] else None
        return grad_x.view(T, *v_shape), grad_v0, grad_k_out, None


def _chain_(
    gh: torch.Tensor,
    h: torch.Tensor,
    v_prev: torch.Tensor,
    k: torch.Tensor | None,
    config: CellConfig,
    grad_x: torch.Tensor,
    gv: torch.Tensor,
    grad_k: torch.Tensor | None,
) -> None:
    """Write ``dL/dx_t`` into ``grad_x`` and ``dL/dv_{t-1}`` into ``gv`` (and add to
    ``grad_k``) from ``gh = dL/dh_t``, with the partials of :func:`cells.cell_partials`.
    ``v_prev`` may be overwritten (KLIF uses it as scratch space only)."""
    if config.cell == "qif":
        tau, v_c, a0, v_rest = config.params
        torch.mul(gh, 1.0 / tau, out=grad_x)
        # dh/dv = 1 + a0 (2 v - v_rest - v_c) / tau
        dv = v_prev.mul_(2.0 * a0 / tau).add_(1.0 - a0 * (v_rest + v_c) / tau)
        torch.mul(gh, dv, out=gv)
        return
    if config.cell == "eif":
        tau, delta_T, theta_rh, _ = config.params
        torch.mul(gh, 1.0 / tau, out=grad_x)
        # dh/dv = 1 + (exp((v - theta_rh) / delta_T) - 1) / tau
        dv = v_prev.sub_(theta_rh).mul_(1.0 / delta_T).exp_().mul_(1.0 / tau).add_(1.0 - 1.0 / tau)
        torch.mul(gh, dv, out=gv)
        return
    tau, decay_input, _ = config.params
    assert k is not None and grad_k is not None
    # dF/dk = H where F = relu(k H) > 0, i.e. F / k; elsewhere F = 0 and dF/dk = 0.
    grad_k += torch.where(k != 0, torch.dot(gh.reshape(-1), h.reshape(-1)).to(torch.float64) / k, 0.0)
    gh.mul_(torch.gt(h, 0, out=v_prev)).mul_(k)
    torch.mul(gh, 1.0 / tau if decay_input else 1.0, out=grad_x)
    torch.mul(gh, 1.0 - 1.0 / tau, out=gv)


def _cell_reference(
    x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cell_multi_step` by the readable loop, differentiated by autograd."""
    spikes, v_seq = reference_cell_multi_step(x_seq, v0, k, config)
    if config.store_v_seq:
        return spikes, v_seq
    return spikes, v_seq[-1] if x_seq.shape[0] else v0


@reference_under_torch_func(_cell_reference)
def cell_multi_step(
    x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``T`` cell steps (the ``'torch'`` kernel of op ``"neuron.cell_multi_step"``).

    Args:
        x_seq: input ``[T, N, *]``.
        v0: membrane potential before the first step ``[N, *]``.
        k: KLIF's learnable scale (a 0-dim tensor), ``None`` for QIF and EIF.
        config: the cell's constants.

    Returns:
        ``(spike_seq [T, N, *], v)``; ``v`` is ``v_seq [T, N, *]`` when
        ``config.store_v_seq``, else the last potential ``[N, *]``.
    """
    if fused_derivative(config.surrogate) is None:
        return _cell_reference(x_seq, v0, k, config)
    return FusedCellFunction.apply(x_seq, v0, k, config)


class FusedIzhikevichFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0, w0 [N, *], config) -> (spike_seq, v_seq or v_T, w_T)``.

    Per step (reverse), with ``gv, gw`` the gradients of the potential and adaptation
    current after the step: the spike's total gradient is ``dL/ds + gv dv/ds + gw b``;
    ``dL/dH = sg * that + gv dv/dH + gw a / tau_w``; then ``dL/dw_{t-1} = gw (1 - 1/tau_w)
    - dL/dH / tau`` and ``dL/dv_{t-1} = dL/dH (1 + a0 (2 v_{t-1} - v_rest - v_c) / tau)``.
    """

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = config
        dtype = compute_dtype(x_seq)
        same = dtype == x_seq.dtype
        T, neurons = x_seq.shape[0], v0.numel()
        x, spikes, v_seq, h_steps, v_start = _sequence_buffers(x_seq, v0, dtype, c.store_v_seq)
        w_all = w0.detach().reshape(neurons).to(dtype, copy=True)
        v_last, scratch = torch.empty_like(v_start), torch.empty_like(v_start)
        for block in column_blocks(neurons, v_start.element_size(), x.device):
            v, w, v_buffer, scratch_block = v_start[block], w_all[block], v_last[block], scratch[block]
            x_rows, spike_rows, h_rows = block_rows(x, block), block_rows(spikes, block), block_pieces(h_steps, block)
            v_rows = None if v_seq is None else block_rows(v_seq, block)
            for t in range(T):
                x_t = x_rows[t] if same else x_rows[t].to(dtype)
                # H = (x + a0 v^2 + (tau - a0 (v_rest + v_c)) v + a0 v_rest v_c - w) / tau
                h = torch.addcmul(x_t, v, v, value=c.a0, out=h_rows[t])
                h.add_(v, alpha=c.tau - c.a0 * (c.v_rest + c.v_c)).sub_(w)
                if c.v_rest * c.v_c != 0.0:
                    h.add_(c.a0 * c.v_rest * c.v_c)
                h.mul_(1.0 / c.tau)
                # w <- w (1 - 1/tau_w) + a (H - v_rest) / tau_w, then + b S
                w.mul_(1.0 - 1.0 / c.tau_w).add_(h, alpha=c.a / c.tau_w)
                if c.a * c.v_rest != 0.0:
                    w.add_(-c.a * c.v_rest / c.tau_w)
                v_out = None if v_rows is None else v_rows[t]
                spike, v = _fire_into(h, c, spike_rows[t], v_out, same, scratch_block, v_buffer)
                if c.b != 0.0:
                    w.add_(spike, alpha=c.b)
        ctx.config, ctx.h_steps = config, h_steps
        ctx.dtypes = (x_seq.dtype, v0.dtype, w0.dtype)
        ctx.save_for_backward(v0)
        if v_seq is not None:
            v_out = v_seq.view(x_seq.shape)
        else:
            v_out = v_last.view(v0.shape).to(v0.dtype, copy=True) if T else v0.clone()
        return spikes.view(x_seq.shape), v_out, w_all.view(w0.shape).to(w0.dtype, copy=True) if T else w0.clone()

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None, grad_w: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        c: IzhikevichConfig = ctx.config
        (v0,) = ctx.saved_tensors
        x_dtype, v_dtype, w_dtype = ctx.dtypes
        h_steps: list[torch.Tensor] = ctx.h_steps
        T = len(h_steps)
        if T == 0:
            return torch.empty((0, *v0.shape), dtype=x_dtype, device=v0.device), grad_v, grad_w, None
        dtype = h_steps[0].dtype
        v_shape, neurons = v0.shape, v0.numel()
        v0 = v0.detach().reshape(neurons).to(dtype)
        grad_x = torch.empty((T, neurons), dtype=x_dtype, device=v0.device)
        per_step_v = grad_v is not None and c.store_v_seq
        keeps_grad_v = grad_v is not None and not per_step_v
        gv_all = grad_v.reshape(neurons).to(dtype, copy=True) if keeps_grad_v else torch.zeros_like(v0)
        gw_all = torch.zeros_like(v0) if grad_w is None else grad_w.reshape(neurons).to(dtype, copy=True)
        grad_spikes = None if grad_spike is None else grad_spike.reshape(T, neurons)
        grad_v_seq = grad_v.reshape(T, neurons) if per_step_v else None
        buffers = [torch.empty_like(v0) for _ in range(4)]
        for block in column_blocks(neurons, v0.element_size(), v0.device):
            gv, gw = gv_all[block], gw_all[block]
            gh, grad_s, mask, v_prev = (buffer[block] for buffer in buffers)
            for t in range(T - 1, -1, -1):
                h = h_steps[t][block]
                if grad_v_seq is not None:
                    gv.add_(grad_v_seq[t, block])
                apply_derivative_(c.surrogate, torch.sub(h, c.v_threshold, out=gh))  # gh <- sg
                # the spike's total gradient: dL/ds + gv dv/ds + gw b
                torch.mul(gw, c.b, out=grad_s)
                if grad_spikes is not None:
                    grad_s.add_(grad_spikes[t, block])
                if c.v_reset is None:
                    if not c.detach_reset:
                        grad_s.add_(gv, alpha=-c.v_threshold)
                else:  # the spike that scales v_reset is never detached
                    grad_s.add_(gv, alpha=c.v_reset)
                    if not c.detach_reset:
                        grad_s.addcmul_(gv, h, value=-1.0)
                gh.mul_(grad_s)
                if c.v_reset is None:
                    gh.add_(gv)
                else:
                    gh.addcmul_(gv, torch.lt(h, c.v_threshold, out=mask))
                gh.add_(gw, alpha=c.a / c.tau_w)  # gh = dL/dH
                torch.mul(gh, 1.0 / c.tau, out=grad_x[t, block])
                gw.mul_(1.0 - 1.0 / c.tau_w).add_(gh, alpha=-1.0 / c.tau)
                if t > 0:
                    _fire_and_reset(h_steps[t - 1][block], c, mask, v_prev)
                else:
                    v_prev.copy_(v0[block])
                # dH/dv = 1 + a0 (2 v - v_rest - v_c) / tau
                v_prev.mul_(2.0 * c.a0 / c.tau).add_(1.0 - c.a0 * (c.v_rest + c.v_c) / c.tau)
                torch.mul(gh, v_prev, out=gv)
        gv, gw = gv_all.view(v_shape), gw_all.view(v_shape)
        grad_x = grad_x.view(T, *v_shape)
        return grad_x, gv.to(v_dtype), gw.to(w_dtype), None


def _izhikevich_reference(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`izhikevich_multi_step` by the readable loop, differentiated by autograd."""
    spikes, v_seq, w = reference_izhikevich_multi_step(x_seq, v0, w0, config)
    if config.store_v_seq:
        return spikes, v_seq, w
    return spikes, v_seq[-1] if x_seq.shape[0] else v0, w


@reference_under_torch_func(_izhikevich_reference)
def izhikevich_multi_step(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``T`` Izhikevich steps (the ``'torch'`` kernel of op ``"neuron.izhikevich_multi_step"``).

    Returns:
        ``(spike_seq [T, N, *], v, w_T [N, *])``; ``v`` is ``v_seq [T, N, *]`` when
        ``config.store_v_seq``, else the last potential ``[N, *]``.
    """
    if fused_derivative(config.surrogate) is None:
        return _izhikevich_reference(x_seq, v0, w0, config)
    return FusedIzhikevichFunction.apply(x_seq, v0, w0, config)
