"""Compiled CPU kernels of the neurons' multi-step paths (the ``'inductor'`` backend).

The forward and the backward of a whole sequence are each written once as plain
element-wise PyTorch ops unrolled over ``T`` (:func:`sequence_forward`,
:func:`sequence_backward`), and compiled by ``torch.compile`` (TorchInductor's C++
backend). Every step is element-wise across neurons, so the compiler fuses the ``T``
steps into one vectorised loop over neurons, run on all threads: the forward reads the
input once and writes the spikes once, and saves nothing but its inputs; the backward
runs the steps again in registers, reads the input and the gradients once and writes
the input gradient once. The PyTorch kernels (:mod:`spikelayers_neuron.fused`,
:mod:`spikelayers_neuron.fused_cells`) take one pass through the cache per op of a step
instead, and save every step's charged potential.

Values are computed in float32 for half-precision inputs (the input's dtype otherwise)
and rounded once on output. The first call of a configuration (neuron kind, reset,
surrogate, ``T``, dtype) compiles for some seconds; later calls, and later processes
through TorchInductor's on-disk cache, run the compiled code. Covered: IF, LIF, PLIF
(op ``"neuron.multi_step"``), QIF, EIF, KLIF (op ``"neuron.cell_multi_step"``) and
Izhikevich (op ``"neuron.izhikevich_multi_step"``, :func:`izhikevich_forward`) with a
surrogate that has a :meth:`~spikelayers_neuron.surrogate.SurrogateFunctionBase.derivative`;
other surrogates, an empty sequence, fewer than two neurons, and a call inside an
enclosing ``torch.compile`` run the PyTorch kernel. Readable definition:
:mod:`spikelayers_neuron.reference`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .cells import CellConfig, IzhikevichConfig, cell_charge, cell_partials, izhikevich_charge
from .dynamics import NeuronConfig, charge, reset
from .fused import neuron_multi_step
from .fused_cells import cell_multi_step, compute_dtype, izhikevich_multi_step
from .ops.compiled import run_compiled, takes_compiled
from .surrogate import _SurrogateMixin, fused_derivative

Config = NeuronConfig | CellConfig | IzhikevichConfig
Partials = tuple[torch.Tensor | float, torch.Tensor | float, torch.Tensor | float | None]

# -- one step's charge and its partial derivatives -----------------------------------------


def step_charge(x: torch.Tensor, v: torch.Tensor, k: float | torch.Tensor | None, config: Config) -> torch.Tensor:
    """``h`` ``[M]`` from input ``x`` and potential ``v`` ``[M]`` (:func:`~.dynamics.charge`
    or :func:`~.cells.cell_charge`)."""
    if isinstance(config, CellConfig):
        return cell_charge(x, v, k, config)  # type: ignore[arg-type]
    return charge(x, v, k, config)


def step_partials(
    x: torch.Tensor, v: torch.Tensor, h: torch.Tensor, k: float | torch.Tensor | None, config: Config
) -> Partials:
    """``(dh/dx, dh/dv, dh/dk)`` of the step that charged ``v`` with ``x`` into ``h``.

    IF: ``(1, 1, -)``; LIF/PLIF: ``(k, 1 - k, x + v_r - v)`` with ``decay_input``,
    ``(1, 1 - k, v_r - v)`` without; cells: :func:`~.cells.cell_partials`.
    """
    if isinstance(config, CellConfig):
        return cell_partials(v, h, k, config)  # type: ignore[arg-type]
    if config.kind == "if":
        return 1.0, 1.0, None
    assert k is not None
    rest = config.charge_reset - v
    if config.decay_input:
        return k, 1.0 - k, x + rest
    return 1.0, 1.0 - k, rest


def _fire(h: torch.Tensor, config: Config) -> torch.Tensor:
    return (h >= config.v_threshold).to(h.dtype)


def _reset_slope(h: torch.Tensor, sg: torch.Tensor, config: Config) -> torch.Tensor | float:
    """``dv/dh`` through firing and reset: ``1 - s + (v_reset - h) sg`` (hard) or
    ``1 - v_threshold sg`` (soft); without the ``sg`` terms under ``detach_reset``."""
    if config.v_reset is None:
        return 1.0 if config.detach_reset else 1.0 - config.v_threshold * sg
    slope = 1.0 - _fire(h, config)
    return slope if config.detach_reset else slope + (config.v_reset - h) * sg


# -- the two passes, as traced and compiled ------------------------------------------------


def _steps(
    x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: Config
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The charged potentials ``h_t`` and the potentials after reset ``v_t`` (``[M]`` each, in
    ``v0``'s dtype) of ``T`` steps from ``v0`` over ``x_seq`` ``[T, M]``."""
    v = v0
    charged, potentials = [], []
    for x in x_seq.unbind(0):
        h = step_charge(x.to(v0.dtype), v, k, config)
        v = reset(h, _fire(h, config), config)  # type: ignore[arg-type]
        charged.append(h)
        potentials.append(v)
    return charged, potentials


def sequence_forward(
    x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: Config
) -> tuple[torch.Tensor, torch.Tensor]:
    """``T`` steps from ``v0`` ``[M]`` (in the compute dtype) over ``x_seq`` ``[T, M]`` (``T >= 1``).

    Returns:
        ``(spike_seq [T, M], v)``: the spikes in ``x_seq``'s dtype, and ``v_seq`` ``[T, M]``
        in ``x_seq``'s dtype (``config.store_v_seq``) or the last potential ``[M]`` in the
        compute dtype.
    """
    charged, potentials = _steps(x_seq, v0, k, config)
    spikes = torch.stack([_fire(h, config).to(x_seq.dtype) for h in charged])
    if config.store_v_seq:
        return spikes, torch.stack([v.to(x_seq.dtype) for v in potentials])
    return spikes, potentials[-1]


def sequence_backward(
    grad_spike: torch.Tensor | None,
    grad_v: torch.Tensor | None,
    x_seq: torch.Tensor,
    v0: torch.Tensor,
    k: float | torch.Tensor | None,
    config: Config,
    wants_k: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The gradients of :func:`sequence_forward`'s inputs, in reverse over ``T``::

        dL/dh_t     = sg_t dL/ds_t + dv_t/dh_t dL/dv_t
        dL/dx_t     = dh_t/dx_t dL/dh_t,    dL/dv_{t-1} = dh_t/dv_{t-1} dL/dh_t (+ v_seq's own)

    The steps are run again first (in the same loop over neurons, so the forward saves
    nothing but its inputs); ``grad_v`` is ``[T, M]`` with ``store_v_seq``, else ``[M]``;
    either gradient may be ``None`` (zero).

    Returns:
        ``(dL/dx_seq [T, M] in x_seq's dtype, dL/dv0 [M], dL/dk (0-dim) or None)``.
    """
    derivative = config.surrogate.derivative
    charged, potentials = _steps(x_seq, v0, k, config)
    per_step_v = config.store_v_seq and grad_v is not None
    g_v = grad_v.to(v0.dtype) if grad_v is not None and not per_step_v else torch.zeros_like(v0)
    grad_x: list[torch.Tensor] = []
    grad_k = torch.zeros_like(v0) if wants_k else None
    for t in range(len(charged) - 1, -1, -1):
        h = charged[t]
        if per_step_v:
            assert grad_v is not None
            g_v = g_v + grad_v[t].to(h.dtype)
        sg = derivative(h - config.v_threshold)
        g_h = g_v * _reset_slope(h, sg, config)
        if grad_spike is not None:
            g_h = g_h + sg * grad_spike[t].to(h.dtype)
        v_prev = v0 if t == 0 else potentials[t - 1]
        dh_dx, dh_dv, dh_dk = step_partials(x_seq[t].to(h.dtype), v_prev, h, k, config)
        grad_x.append((g_h * dh_dx).to(x_seq.dtype))
        if grad_k is not None:
            assert dh_dk is not None
            grad_k = grad_k + g_h * dh_dk
        g_v = g_h * dh_dv
    grad_x.reverse()
    return torch.stack(grad_x), g_v, None if grad_k is None else grad_k.sum()


def _izhikevich_steps(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """``(h_t, v_t, w_T)`` of ``T`` Izhikevich steps from ``(v0, w0)`` ``[M]`` over ``x_seq``
    ``[T, M]``: charge ``H``, ``w <- w + (a (H - v_rest) - w) / tau_w``, fire, reset,
    ``w <- w + b S``."""
    c = config
    v, w = v0, w0
    charged, potentials = [], []
    for x in x_seq.unbind(0):
        h = izhikevich_charge(x.to(v0.dtype), v, w, c)
        w = w + (c.a * (h - c.v_rest) - w) / c.tau_w
        spike = _fire(h, c)
        v = reset(h, spike, c)  # type: ignore[arg-type]
        w = w + c.b * spike
        charged.append(h)
        potentials.append(v)
    return charged, potentials, w


def izhikevich_forward(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``T`` Izhikevich steps from ``(v0, w0)`` ``[M]`` over ``x_seq`` ``[T, M]`` (``T >= 1``).

    Returns:
        ``(spike_seq [T, M], v, w_T [M])``: as :func:`sequence_forward`, plus the last
        adaptation current in the compute dtype.
    """
    charged, potentials, w = _izhikevich_steps(x_seq, v0, w0, config)
    spikes = torch.stack([_fire(h, config).to(x_seq.dtype) for h in charged])
    if config.store_v_seq:
        return spikes, torch.stack([v.to(x_seq.dtype) for v in potentials]), w
    return spikes, potentials[-1], w


def izhikevich_backward(
    grad_spike: torch.Tensor | None,
    grad_v: torch.Tensor | None,
    grad_w: torch.Tensor | None,
    x_seq: torch.Tensor,
    v0: torch.Tensor,
    w0: torch.Tensor,
    config: IzhikevichConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gradients of :func:`izhikevich_forward`'s ``(x_seq, v0, w0)``, in reverse over ``T``
    after running the steps again.

    With ``gv, gw`` the gradients of the potential and current after step ``t``: the spike's
    whole gradient is ``dL/ds + gv dv/ds + gw b`` (the spike that scales ``v_reset`` is never
    detached); ``dL/dH = sg * that + gv dv/dH + gw a / tau_w``; then ``dL/dx_t = dL/dH / tau``,
    ``dL/dw_{t-1} = gw (1 - 1/tau_w) - dL/dH / tau`` and ``dL/dv_{t-1} = dL/dH (1 + a0
    (2 v_{t-1} - v_rest - v_c) / tau)``.
    """
    c = config
    derivative = c.surrogate.derivative
    charged, potentials, _ = _izhikevich_steps(x_seq, v0, w0, c)
    per_step_v = c.store_v_seq and grad_v is not None
    g_v = grad_v.to(v0.dtype) if grad_v is not None and not per_step_v else torch.zeros_like(v0)
    g_w = grad_w.to(v0.dtype) if grad_w is not None else torch.zeros_like(v0)
    grad_x: list[torch.Tensor] = []
    for t in range(len(charged) - 1, -1, -1):
        h = charged[t]
        if per_step_v:
            assert grad_v is not None
            g_v = g_v + grad_v[t].to(h.dtype)
        spike = _fire(h, c)
        sg = derivative(h - c.v_threshold)
        if c.v_reset is None:
            dv_ds, dv_dh = (0.0 if c.detach_reset else -c.v_threshold), 1.0
        else:
            dv_ds, dv_dh = (c.v_reset if c.detach_reset else c.v_reset - h), 1.0 - spike
        g_s = g_v * dv_ds + g_w * c.b
        if grad_spike is not None:
            g_s = g_s + grad_spike[t].to(h.dtype)
        g_h = sg * g_s + g_v * dv_dh + g_w * (c.a / c.tau_w)
        v_prev = v0 if t == 0 else potentials[t - 1]
        grad_x.append((g_h / c.tau).to(x_seq.dtype))
        g_w = g_w * (1.0 - 1.0 / c.tau_w) - g_h / c.tau
        g_v = g_h * (1.0 + c.a0 * (2.0 * v_prev - c.v_rest - c.v_c) / c.tau)
    grad_x.reverse()
    return torch.stack(grad_x), g_v, g_w


class InductorSequenceFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0 [N, *], k, config) -> (spike_seq [T, N, *], v_seq [T, N, *] or v_T [N, *])``
    through the compiled :func:`sequence_forward` and :func:`sequence_backward`."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: Config
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T, neurons = x_seq.shape[0], v0.numel()
        dtype = compute_dtype(x_seq)
        x = x_seq.detach().reshape(T, neurons)
        start = v0.detach().reshape(neurons).to(dtype)
        k_value = k.detach().to(dtype) if isinstance(k, torch.Tensor) else k
        spikes, v = run_compiled(sequence_forward, x, start, k_value, config)
        ctx.config, ctx.k_value = config, k_value
        ctx.k_dtype = k.dtype if isinstance(k, torch.Tensor) else None
        ctx.shapes = (x_seq.shape, v0.shape, v0.dtype)
        ctx.save_for_backward(x, start)
        v_shape = x_seq.shape if config.store_v_seq else v0.shape
        return spikes.view(x_seq.shape), v.view(v_shape) if config.store_v_seq else v.to(v0.dtype).view(v_shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        x, start = ctx.saved_tensors
        x_shape, v_shape, v_dtype = ctx.shapes
        T, neurons = x.shape
        grad_s = None if grad_spike is None else grad_spike.reshape(T, neurons)
        grad_v_flat = None if grad_v is None else grad_v.reshape((T, neurons) if ctx.config.store_v_seq else (neurons,))
        wants_k = ctx.k_dtype is not None and ctx.needs_input_grad[2]
        grad_x, grad_v0, grad_k = run_compiled(
            sequence_backward, grad_s, grad_v_flat, x, start, ctx.k_value, ctx.config, wants_k
        )
        return (
            grad_x.view(x_shape),
            grad_v0.view(v_shape).to(v_dtype),
            None if grad_k is None else grad_k.to(ctx.k_dtype),
            None,
        )


class InductorIzhikevichFunction(torch.autograd.Function):
    """``(x_seq [T, N, *], v0, w0 [N, *], config) -> (spike_seq, v_seq or v_T, w_T)`` through
    the compiled :func:`izhikevich_forward` and :func:`izhikevich_backward`."""

    @staticmethod
    def forward(
        ctx: Any, x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        T, neurons = x_seq.shape[0], v0.numel()
        dtype = compute_dtype(x_seq)
        x = x_seq.detach().reshape(T, neurons)
        start = v0.detach().reshape(neurons).to(dtype)
        w_start = w0.detach().reshape(neurons).to(dtype)
        spikes, v, w = run_compiled(izhikevich_forward, x, start, w_start, config)
        ctx.config, ctx.dtypes = config, (x_seq.dtype, v0.dtype, w0.dtype)
        ctx.shapes = (x_seq.shape, v0.shape, w0.shape)
        ctx.save_for_backward(x, start, w_start)
        v_out = v.view(x_seq.shape) if config.store_v_seq else v.to(v0.dtype).view(v0.shape)
        return spikes.view(x_seq.shape), v_out, w.to(w0.dtype).view(w0.shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_spike: torch.Tensor | None, grad_v: torch.Tensor | None, grad_w: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        x, start, w_start = ctx.saved_tensors
        _, v_dtype, w_dtype = ctx.dtypes
        T, neurons = x.shape
        grad_s = None if grad_spike is None else grad_spike.reshape(T, neurons)
        store = ctx.config.store_v_seq
        grad_v_flat = None if grad_v is None else grad_v.reshape((T, neurons) if store else (neurons,))
        grad_w_flat = None if grad_w is None else grad_w.reshape(neurons)
        grad_x, grad_v0, grad_w0 = run_compiled(
            izhikevich_backward, grad_s, grad_v_flat, grad_w_flat, x, start, w_start, ctx.config
        )
        x_shape, v_shape, w_shape = ctx.shapes
        return grad_x.view(x_shape), grad_v0.to(v_dtype).view(v_shape), grad_w0.to(w_dtype).view(w_shape), None


# -- the registered kernels ------------------------------------------------------------------


def unsupported_reason(surrogate: type, spiking: bool) -> str | None:
    """Why the compiled kernels cannot run a neuron with this surrogate (the kernel specs'
    ``supports``), or ``None``: they need a spiking surrogate with a ``derivative``."""
    if not spiking:
        return "a surrogate with spiking=False has no compiled kernel"
    if not issubclass(surrogate, _SurrogateMixin) or surrogate.derivative is _SurrogateMixin.derivative:
        return f"the surrogate {surrogate.__name__} defines no derivative for the compiled kernel"
    return None


def _runs_compiled(x_seq: torch.Tensor, config: Config) -> bool:
    """Whether a call takes the compiled kernel (else the PyTorch kernel runs it)."""
    return takes_compiled(x_seq) and fused_derivative(config.surrogate) is not None


def neuron_multi_step_inductor(
    x_seq: torch.Tensor, v0: torch.Tensor, k: float | torch.Tensor | None, config: NeuronConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``'inductor'`` kernel of ``"neuron.multi_step"`` (IF, LIF, PLIF); same contract as
    :func:`spikelayers_neuron.fused.neuron_multi_step`."""
    if not _runs_compiled(x_seq, config):
        return neuron_multi_step(x_seq, v0, k, config)
    return InductorSequenceFunction.apply(x_seq, v0, k, config)


def izhikevich_multi_step_inductor(
    x_seq: torch.Tensor, v0: torch.Tensor, w0: torch.Tensor, config: IzhikevichConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``'inductor'`` kernel of ``"neuron.izhikevich_multi_step"``; same contract as
    :func:`spikelayers_neuron.fused_cells.izhikevich_multi_step`."""
    if not _runs_compiled(x_seq, config):
        return izhikevich_multi_step(x_seq, v0, w0, config)
    return InductorIzhikevichFunction.apply(x_seq, v0, w0, config)


def cell_multi_step_inductor(
    x_seq: torch.Tensor, v0: torch.Tensor, k: torch.Tensor | None, config: CellConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``'inductor'`` kernel of ``"neuron.cell_multi_step"`` (QIF, EIF, KLIF); same
    contract as :func:`spikelayers_neuron.fused_cells.cell_multi_step`."""
    if not _runs_compiled(x_seq, config):
        return cell_multi_step(x_seq, v0, k, config)
    return InductorSequenceFunction.apply(x_seq, v0, k, config)
