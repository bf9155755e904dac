"""The LIF neuron of online training through time (OTTT)."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.shapes import floating_input
from spikelayers_neuron.node import DEFAULT_SURROGATE, LIFNode


class OTTTLIFNode(LIFNode):
    """LIF neuron for online training through time; single-step only, input ``[N, *]``.

    Each step first detaches the membrane potential ``v``, so the graph of a step never
    reaches earlier steps and every step can have its own ``backward()``. Charge, fire
    and reset follow :class:`~spikelayers_neuron.node.LIFNode`. In training mode the
    neuron also keeps a presynaptic trace (memory ``trace``, no gradient),
    ``trace = trace * (1 - 1/tau) + spike``, and returns ``[spike, trace]``; in eval
    mode it returns the spike ``[N, *]`` alone.

    Args:
        tau: membrane time constant, ``> 1``.
        decay_input: whether the input is also divided by ``tau``.
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: must be ``'s'``.
        backend: ``'torch'``.
        store_v_seq: accepted for compatibility; single-step mode keeps no sequence.
    """

    step_modes = ("s",)
    supported_backends = ("torch",)
    # single_step_forward only wraps LIFNode's step (detach before, trace after), so the
    # charge, fire and reset are still LIF's and the fused path computes them.
    dynamics_hooks = tuple(hook for hook in LIFNode.dynamics_hooks if hook != "single_step_forward")

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = False,
        v_threshold: float = 1.0,
        v_reset: float | None = None,
        surrogate_function: nn.Module = DEFAULT_SURROGATE,
        detach_reset: bool = True,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(
            tau=tau,
            decay_input=decay_input,
            v_threshold=v_threshold,
            v_reset=v_reset,
            surrogate_function=surrogate_function,
            detach_reset=detach_reset,
            step_mode=step_mode,
            backend=backend,
            store_v_seq=False,
        )
        self.register_memory("trace", 0.0)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """One step ``[N, *]``: ``[spike, trace]`` in training, ``spike`` in eval.

        Spikes given as ``bool`` or integers are taken as floats.
        """
        x = floating_input(self, x)
        self.detach()
        spike = super().single_step_forward(x)
        if not self.training:
            return spike
        with torch.no_grad():
            self.trace = torch.add(spike, self.memory_like("trace", spike), alpha=1.0 - 1.0 / self.tau)
        return [spike, self.trace]
