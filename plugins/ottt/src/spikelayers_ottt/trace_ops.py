"""Wrappers that run a module on a ``[spike, trace]`` pair, as OTTT needs.

The pair comes from :class:`~spikelayers_ottt.node.OTTTLIFNode` in training mode: one
step's spikes and their presynaptic traces, both ``[N, *]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .replace_grad import ReplaceforGrad


def _split(module: nn.Module, x: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(x, (list, tuple)) or len(x) != 2:
        got = f"a {type(x).__name__}" + (f" of length {len(x)}" if isinstance(x, (list, tuple)) else "")
        raise TypeError(f"{type(module).__name__} expects a list [spike, trace] of two tensors [N, *], got {got}")
    return x[0], x[1]


class GradwithTrace(nn.Module):
    """Value of ``module(spike)``, gradient of ``module(trace)``.

    Input ``[spike, trace]`` (each ``[N, *]``); output ``module(spike)`` ``[N, *']``,
    computed without a graph. Backward runs as if the output were ``module(trace)``:
    ``module``'s parameters get the gradient of ``module(trace)``, and the gradient
    that ``module(trace)`` sends to its input goes to both ``spike`` (and so on to the
    layers before the neuron) and ``trace``.

    Args:
        module: the layer with parameters to wrap (e.g. a convolution).
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Sequence[torch.Tensor]) -> torch.Tensor:
        spike, trace = _split(self, x)
        with torch.no_grad():
            out = self.module(spike)
        trace_for_grad = ReplaceforGrad.apply(spike, trace)
        return ReplaceforGrad.apply(self.module(trace_for_grad), out)


class SpikeTraceOp(nn.Module):
    """Apply ``module`` to both the spike and the trace.

    ``[spike, trace] -> [module(spike), module(trace)]`` (each ``[N, *]``); the trace
    branch runs without a graph. For parameter-free layers such as pooling, flatten or
    dropout.

    Args:
        module: the layer to apply to both tensors.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        spike, trace = _split(self, x)
        spike = self.module(spike)
        with torch.no_grad():
            trace = self.module(trace)
        return [spike, trace]
