"""The exponential synapse filter (``SynapseFilter``, alias ``LowPassSynapse``)."""

from __future__ import annotations

import math

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.kernels import get_kernel, prepare
from spikelayers.shapes import check_min_dim, common_dtype
from spikelayers.validators import tau as check_tau

OP = "synapse.filter"


class SynapseFilter(MemoryModule):
    """A synapse whose current decays exponentially and jumps by each input spike.

    Per step, with input ``S`` and memory ``I`` (initially 0)::

        I <- I - (1 - S) * I / tau + S

    The output is the new ``I``. In single-step mode the input is ``[N, *]`` (any shape,
    a scalar included); in multi-step mode it is ``[T, N, *]`` and the whole sequence
    runs as one fused autograd function (kernel op ``"synapse.filter"``, backends
    ``'torch'`` and ``'triton'``).

    Args:
        tau: the time constant, greater than 1. With ``learnable=True`` it is the
            initial value of a learnable time constant.
        learnable: learn ``tau`` through a parameter ``w`` with ``1/tau = sigmoid(w)``,
            initialised at ``w = -ln(tau - 1)``.
        step_mode: ``'s'`` (single-step) or ``'m'`` (multi-step).
    """

    supported_backends = ("torch", "triton")

    def __init__(self, tau: float = 100.0, learnable: bool = False, step_mode: str = "s") -> None:
        super().__init__()
        tau = check_tau("SynapseFilter", tau)
        self.learnable = bool(learnable)
        if self.learnable:
            self.w = nn.Parameter(torch.tensor(-math.log(tau - 1.0)))
        else:
            self.tau = tau
        self.register_memory("I", 0.0)
        self.step_mode = step_mode
        prepare(OP, self.backend)  # import the kernels now, not in the first (maybe compiled) forward

    def decay(self) -> float | torch.Tensor:
        """``1 / tau``: a float, or a 0-D tensor (``sigmoid(w)``) when learnable."""
        if self.learnable:
            return torch.sigmoid(self.w)
        return 1.0 / self.tau

    def extra_repr(self) -> str:
        tau = 1.0 / float(torch.sigmoid(self.w.detach())) if self.learnable else self.tau
        return f"tau={tau}, learnable={self.learnable}, {super().extra_repr()}"

    def _run(self, x_seq: torch.Tensor) -> torch.Tensor:
        kernel = get_kernel(OP, self.backend, x_seq.device)  # first: a backend that cannot run changes no state
        # Spikes given as bool or integers become floats; a memory of another floating
        # dtype (a dtype change mid-sequence) gives the promoted result, as torch ops do.
        memory = self._memories["I"]
        x_seq = x_seq.to(common_dtype(x_seq, memory if isinstance(memory, torch.Tensor) else None))
        current = self.memory_like("I", x_seq[0], store=False).to(x_seq.dtype)
        decay = self.decay()
        if isinstance(decay, torch.Tensor):
            decay = decay.to(x_seq.dtype)
        out = kernel(x_seq, current, decay)
        self.I = out[-1]
        return out

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step, ``[N, *] -> [N, *]``."""
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x, dtype=torch.get_default_dtype())
        return self._run(x.unsqueeze(0))[0]

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence, ``[T, N, *] -> [T, N, *]``."""
        check_min_dim(self, x_seq, 2, "[T, N, *]")
        if x_seq.shape[0] == 0:
            return x_seq.clone()
        return self._run(x_seq)


LowPassSynapse = SynapseFilter
"""The name the reference's example uses for :class:`SynapseFilter`."""
