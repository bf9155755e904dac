"""The gated leaky integrate-and-fire neuron (GLIF).

Every membrane constant is learnable and used through a sigmoid, and three learnable
gates mix the leak (exponential or linear decay), the input conductance and the reset
(soft subtraction of a constant or multiplicative decay of the potential). Multi-step
only: the neuron is built for ``T`` steps (``conduct`` has one entry per step).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.kernels import get_kernel, prepare

from .arguments import check_sequence, open_unit, positive_int
from .ops.gated_lif.reference import GatedLIFParameters, channel_view
from .surrogate import Sigmoid

#: The default ``surrogate_function`` of :class:`GatedLIFNode` (each neuron gets its own copy).
DEFAULT_GATED_SURROGATE = Sigmoid()


def _logit(p: float) -> float:
    return -math.log(1.0 / p - 1.0)


class GatedLIFNode(MemoryModule):
    """Gated LIF neuron: ``[T, N, C, *] -> [T, N, C, *]`` spikes, multi-step only.

    With ``a, b, g`` the sigmoids of the gates ``alpha, beta, gamma`` and ``s`` the spike
    of the previous step (0 at the first step of every call), step ``t`` computes::

        leak = 1 - a (1 - sigmoid(tau))
        u = leak v - (1 - a) sigmoid(linear_decay) + x[t] (1 - b (1 - sigmoid(conduct[t])))
        u = u - leak v g s - (1 - g) sigmoid(v_subreset) s
        s = surrogate(u - sigmoid(v_threshold));   v = u

    The potential ``v`` (and ``u``, equal to it after each call) is a memory carried into
    the next call until a reset. Layer-wise (``inplane=None``) every parameter is a
    scalar and any input ``[T, N, *]`` works; channel-wise (``inplane=C``) the parameters
    are ``[C]`` (``conduct`` ``[T, C]``) and the input is ``[T, N, C, *]``. Multi-step mode
    runs one fused autograd function (:mod:`.ops.gated_lif.fused`); a subclass that
    overrides :meth:`neuronal_charge`, :meth:`neuronal_reset` or :meth:`neuronal_fire`
    runs a differentiable loop over those methods instead.

    Args:
        T: the number of time steps (the input must have exactly ``T``).
        inplane: the number of channels ``C`` for channel-wise parameters, or ``None``.
        init_linear_decay: initial linear decay, default ``init_v_threshold / (2 T)``.
        init_v_subreset: initial soft-reset constant, default ``init_v_threshold``.
        init_tau: initial exponential-decay constant, in ``(0, 1)``.
        init_v_threshold: initial threshold, in ``(0, 1)``.
        init_conduct: initial conductance, in ``(0, 1)``.
        surrogate_function: the spike's surrogate-gradient function (default ``Sigmoid()``).
        step_mode: ``'m'`` only.
        backend: ``'torch'``, or ``'inductor'`` for kernels compiled for the CPU.

    Parameters are stored as logits (``-ln(1/p - 1)`` of the initial values); the gates
    start uniform in ``[-0.1, 0.1)``, drawn from torch's generator.
    """

    step_modes = ("m",)
    supported_backends = ("torch", "inductor")
    kernel_op = "neuron.gated_lif"

    def __init__(
        self,
        T: int,
        inplane: int | None = None,
        init_linear_decay: float | None = None,
        init_v_subreset: float | None = None,
        init_tau: float = 0.25,
        init_v_threshold: float = 0.5,
        init_conduct: float = 0.5,
        surrogate_function: nn.Module = DEFAULT_GATED_SURROGATE,
        step_mode: str = "m",
        backend: str = "torch",
    ) -> None:
        name = "GatedLIFNode"
        T = positive_int(name, "T", T)
        inplane = None if inplane is None else positive_int(name, "inplane", inplane)
        init_tau = open_unit(name, "init_tau", init_tau)
        init_v_threshold = open_unit(name, "init_v_threshold", init_v_threshold)
        init_conduct = open_unit(name, "init_conduct", init_conduct)
        if init_linear_decay is None:
            init_linear_decay = init_v_threshold / (T * 2)
        init_linear_decay = open_unit(name, "init_linear_decay", init_linear_decay)
        if init_v_subreset is None:
            init_v_subreset = init_v_threshold
        init_v_subreset = open_unit(name, "init_v_subreset", init_v_subreset)
        super().__init__()
        self.surrogate_function = Sigmoid() if surrogate_function is DEFAULT_GATED_SURROGATE else surrogate_function
        self.backend = backend
        prepare(self.kernel_op, self.backend)  # import the kernels now, not in a compiled forward
        self.step_mode = step_mode
        self.T = T
        self.register_memory("v", 0.0)
        self.register_memory("u", 0.0)
        self.channel_wise = inplane is not None
        self.inplane = inplane
        shape = () if inplane is None else (inplane,)

        def constant(p: float, size: tuple[int, ...] = shape) -> nn.Parameter:
            return nn.Parameter(torch.full(size, _logit(p)))

        self.alpha, self.beta, self.gamma = (nn.Parameter(0.2 * (torch.rand(shape) - 0.5)) for _ in range(3))
        self.tau = constant(init_tau)
        self.v_threshold = constant(init_v_threshold)
        self.linear_decay = constant(init_linear_decay)
        self.v_subreset = constant(init_v_subreset)
        self.conduct = constant(init_conduct, (T, *shape))

    def parameters_tuple(self) -> GatedLIFParameters:
        """The raw parameters, in the order of :class:`~.ops.gated_lif.reference.GatedLIFParameters`."""
        return GatedLIFParameters(
            self.alpha,
            self.beta,
            self.gamma,
            self.tau,
            self.v_threshold,
            self.linear_decay,
            self.v_subreset,
            self.conduct,
        )

    # -- the per-step extension surface ---------------------------------------------

    def _view(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return channel_view(p, x.dim())

    def neuronal_charge(self, x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, t: int) -> None:
        """``u = leak v - (1 - a) sigmoid(linear_decay) + x (1 - b (1 - sigmoid(conduct[t])))``
        for one step ``x`` ``[N, C, *]`` (``alpha``, ``beta``: the sigmoids of the gates)."""
        leak = 1 - alpha * (1 - self._view(self.tau, x).sigmoid())
        gain = 1 - beta * (1 - self._view(self.conduct[t], x).sigmoid())
        self.u = leak * self.v - (1 - alpha) * self._view(self.linear_decay, x).sigmoid() + x * gain

    def neuronal_reset(self, spike: torch.Tensor, alpha: torch.Tensor, gamma: torch.Tensor) -> None:
        """``u = u - leak v g s - (1 - g) sigmoid(v_subreset) s`` with the previous step's spike ``s``."""
        leak = 1 - alpha * (1 - self._view(self.tau, spike).sigmoid())
        self.u = (
            self.u - leak * self.v * gamma * spike - (1 - gamma) * self._view(self.v_subreset, spike).sigmoid() * spike
        )

    def neuronal_fire(self) -> torch.Tensor:
        """``surrogate(u - sigmoid(v_threshold))``."""
        return self.surrogate_function(self.u - self._view(self.v_threshold, self.u).sigmoid())

    # -- forward --------------------------------------------------------------------

    def _check_input(self, x_seq: torch.Tensor) -> None:
        check_sequence(self, x_seq, self.T)
        if self.channel_wise and (x_seq.dim() < 3 or x_seq.shape[2] != self.inplane):
            raise ValueError(
                f"GatedLIFNode (channel-wise, inplane={self.inplane}) expects x_seq [T, N, C, *] with "
                f"C={self.inplane}, got shape {tuple(x_seq.shape)}"
            )

    def _overrides_dynamics(self) -> bool:
        return any(
            getattr(type(self), name) is not getattr(GatedLIFNode, name)
            for name in ("neuronal_charge", "neuronal_reset", "neuronal_fire")
        )

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` of ``x_seq`` ``[T, N, *]`` (exactly ``T`` steps)."""
        self._check_input(x_seq)
        v0 = self.memory_like("v", x_seq[0])
        if self._overrides_dynamics():
            return self._loop_forward(x_seq)
        kernel = get_kernel(self.kernel_op, self.backend, x_seq.device)
        spikes, v = kernel(x_seq, v0, self.parameters_tuple(), self.surrogate_function)
        self.v = v
        self.u = v
        return spikes

    def _loop_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The per-step loop over the extension methods (the reference's structure)."""
        step = x_seq[0]
        alpha = self._view(self.alpha, step).sigmoid()
        beta = self._view(self.beta, step).sigmoid()
        gamma = self._view(self.gamma, step).sigmoid()
        spike = torch.zeros_like(step)
        spikes = []
        for t in range(self.T):
            self.neuronal_charge(x_seq[t], alpha, beta, t)
            self.neuronal_reset(spike, alpha, gamma)
            spike = self.neuronal_fire()
            self.v = self.u
            spikes.append(spike)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, T={self.T}, inplane={self.inplane}"
