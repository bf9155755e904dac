"""DSR neurons: differentiation on spike representation.

The forward pass is an IF or LIF neuron with a subtractive reset whose spikes carry the
threshold's value; the backward pass differentiates the firing rate as a clipped
linear function of the input's (weighted) mean over time instead of the spike train,
and trains the threshold. Multi-step only; stateless across calls.
"""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.kernels import get_kernel, prepare

from .arguments import check_sequence, positive_int, real
from .ops.dsr.fused import DSRIFFunction, DSRLIFFunction, weighted_rate


class _DSRNode(MemoryModule):
    """Threshold handling shared by :class:`DSRIFNode` and :class:`DSRLIFNode`."""

    step_modes = ("m",)
    supported_backends = ("torch", "inductor")
    kernel_op = "neuron.dsr_if"

    def __init__(
        self,
        T: int,
        v_threshold: float,
        alpha: float,
        v_threshold_training: bool,
        v_threshold_grad_scaling: float,
        v_threshold_lower_bound: float,
        step_mode: str,
        backend: str,
    ) -> None:
        name = type(self).__name__
        T = positive_int(name, "T", T)
        v_threshold = real(name, "v_threshold", v_threshold)
        alpha = real(name, "alpha", alpha)
        v_threshold_lower_bound = real(name, "v_threshold_lower_bound", v_threshold_lower_bound)
        v_threshold_grad_scaling = real(name, "v_threshold_grad_scaling", v_threshold_grad_scaling)
        if not v_threshold_lower_bound > 0.0:
            raise ValueError(f"{name}: v_threshold_lower_bound must be positive, got {v_threshold_lower_bound!r}")
        if not v_threshold >= v_threshold_lower_bound:
            raise ValueError(
                f"{name}: v_threshold must be at least v_threshold_lower_bound={v_threshold_lower_bound}, "
                f"got {v_threshold!r}"
            )
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"{name}: alpha must lie in (0, 1], got {alpha!r}")
        super().__init__()
        self.backend = backend
        prepare(self.kernel_op, self.backend)  # import the kernels now, not in a compiled forward
        self.step_mode = step_mode
        self.T = T
        threshold = torch.tensor(v_threshold)
        if v_threshold_training:
            self.v_threshold = nn.Parameter(threshold)
        else:  # follows .to() but stays out of state_dict, as in the reference
            self.register_buffer("v_threshold", threshold, persistent=False)
        self.alpha = alpha
        self.v_threshold_lower_bound = v_threshold_lower_bound
        self.v_threshold_grad_scaling = v_threshold_grad_scaling

    def effective_threshold(self) -> torch.Tensor:
        """``max(v_threshold, v_threshold_lower_bound)``, with the gradient passed straight to
        ``v_threshold`` (the parameter itself is never modified)."""
        clamped = self.v_threshold.clamp(min=self.v_threshold_lower_bound)
        return self.v_threshold + (clamped - self.v_threshold).detach()

    @torch.no_grad()
    def clamp_v_threshold_(self) -> None:
        """Raise the stored ``v_threshold`` to ``v_threshold_lower_bound`` in place (for example
        after an optimiser step)."""
        self.v_threshold.clamp_(min=self.v_threshold_lower_bound)


class DSRIFNode(_DSRNode):
    """DSR integrate-and-fire neuron: ``[T, N, *] -> [T, N, *]`` spikes of value 0 or ``v_threshold``.

    Forward, from ``m = 0``: ``m += x[t]``; ``s[t] = v_th * (m >= alpha * v_th)``;
    ``m -= s[t]``. Backward, with the rate ``r = mean_t x`` and ``g = sum_t dL/ds[t]``:
    ``dL/dx[t] = g / T`` where ``0 <= r <= v_th`` (else 0) and
    ``dL/dv_th = v_threshold_grad_scaling * sum(g where r > v_th)``.

    The threshold used is ``max(v_threshold, v_threshold_lower_bound)``; the gradient
    reaches ``v_threshold`` unchanged. The input must have exactly ``T`` steps.

    Args:
        T: the number of time steps.
        v_threshold: initial threshold (``>= v_threshold_lower_bound``).
        alpha: a step fires where the potential reaches ``alpha * v_threshold``; in ``(0, 1]``.
        v_threshold_training: make ``v_threshold`` a learnable parameter (otherwise a
            buffer outside ``state_dict``).
        v_threshold_grad_scaling: factor on the threshold's gradient.
        v_threshold_lower_bound: the smallest threshold used (positive).
        step_mode: ``'m'`` only.
        backend: ``'torch'``, or ``'inductor'`` for the forward compiled for the CPU.
        **kwargs: accepted and ignored, as by the reference.
    """

    DSRIFFunction = DSRIFFunction

    def __init__(
        self,
        T: int = 20,
        v_threshold: float = 6.0,
        alpha: float = 0.5,
        v_threshold_training: bool = True,
        v_threshold_grad_scaling: float = 1.0,
        v_threshold_lower_bound: float = 0.01,
        step_mode: str = "m",
        backend: str = "torch",
        **kwargs: object,
    ) -> None:
        super().__init__(
            T,
            v_threshold,
            alpha,
            v_threshold_training,
            v_threshold_grad_scaling,
            v_threshold_lower_bound,
            step_mode,
            backend,
        )

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` (0 or the threshold) of ``x_seq`` ``[T, N, *]``."""
        check_sequence(self, x_seq, self.T)
        kernel = get_kernel(self.kernel_op, self.backend, x_seq.device)
        return kernel(x_seq, self.T, self.effective_threshold(), self.alpha, self.v_threshold_grad_scaling)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, T={self.T}, init_vth={self.v_threshold.detach().item()}, alpha={self.alpha}, "
            f"vth_bound={self.v_threshold_lower_bound}, vth_g_scale={self.v_threshold_grad_scaling}"
        )


class DSRLIFNode(_DSRNode):
    """DSR leaky integrate-and-fire neuron: ``[T, N, *] -> [T, N, *]`` spikes of value 0 or
    ``v_threshold / delta_t``.

    Forward, with ``beta = exp(-delta_t / tau)`` and ``m = 0``: ``m = beta m + (1 - beta) x[t]``;
    ``s = v_th * (m >= alpha * v_th)``; ``m -= s``; output ``s / delta_t``. Backward, with
    the weighted rate ``r = sum_t w_t x[t] / sum_t w_t`` (``w_t = exp(-(dt T - t dt) / tau)``,
    :meth:`weight_rate_spikes`) and ``g = T *`` the weighted rate of ``dL/dout``:
    ``dL/dx[t] = g / (tau T)`` where ``0 < r < v_th tau / dt`` (else 0) and
    ``dL/dv_th = dt * v_threshold_grad_scaling * sum(g where r > v_th tau / dt)``.

    The potential integrates about ``delta_t / tau`` of the input per step (0.025 with
    the defaults), so inputs must be large to fire. Threshold handling as in
    :class:`DSRIFNode`; the input must have exactly ``T`` steps.

    Args:
        T: the number of time steps.
        v_threshold: initial threshold (``>= v_threshold_lower_bound``).
        tau: membrane time constant (positive).
        delta_t: discretisation step of the LIF equation (positive).
        alpha: a step fires where the potential reaches ``alpha * v_threshold``; in ``(0, 1]``.
        v_threshold_training: make ``v_threshold`` a learnable parameter.
        v_threshold_grad_scaling: factor on the threshold's gradient.
        v_threshold_lower_bound: the smallest threshold used (positive).
        step_mode: ``'m'`` only.
        backend: ``'torch'``, or ``'inductor'`` for the forward compiled for the CPU.
        **kwargs: accepted and ignored, as by the reference.
    """

    DSRLIFFunction = DSRLIFFunction
    kernel_op = "neuron.dsr_lif"

    def __init__(
        self,
        T: int = 20,
        v_threshold: float = 1.0,
        tau: float = 2.0,
        delta_t: float = 0.05,
        alpha: float = 0.3,
        v_threshold_training: bool = True,
        v_threshold_grad_scaling: float = 1.0,
        v_threshold_lower_bound: float = 0.1,
        step_mode: str = "m",
        backend: str = "torch",
        **kwargs: object,
    ) -> None:
        tau = real("DSRLIFNode", "tau", tau)
        delta_t = real("DSRLIFNode", "delta_t", delta_t)
        if not tau > 0.0:
            raise ValueError(f"DSRLIFNode: tau must be positive, got {tau!r}")
        if not delta_t > 0.0:
            raise ValueError(f"DSRLIFNode: delta_t must be positive, got {delta_t!r}")
        super().__init__(
            T,
            v_threshold,
            alpha,
            v_threshold_training,
            v_threshold_grad_scaling,
            v_threshold_lower_bound,
            step_mode,
            backend,
        )
        self.tau = tau
        self.delta_t = delta_t

    @classmethod
    def weight_rate_spikes(cls, data: torch.Tensor, tau: float, delta_t: float) -> torch.Tensor:
        """The weighted time average ``[T, N, *] -> [N, *]``: later steps weigh more."""
        return weighted_rate(data, tau, delta_t)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` (0 or ``v_threshold / delta_t``) of ``x_seq`` ``[T, N, *]``."""
        check_sequence(self, x_seq, self.T)
        kernel = get_kernel(self.kernel_op, self.backend, x_seq.device)
        return kernel(
            x_seq,
            self.T,
            self.effective_threshold(),
            self.tau,
            self.delta_t,
            self.alpha,
            self.v_threshold_grad_scaling,
        )

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, T={self.T}, init_vth={self.v_threshold.detach().item()}, tau={self.tau}, "
            f"dt={self.delta_t}, alpha={self.alpha}, vth_bound={self.v_threshold_lower_bound}, "
            f"vth_g_scale={self.v_threshold_grad_scaling}"
        )
