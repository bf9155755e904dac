"""A sequential container that switches to spike/trace pairs after an OTTT neuron."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from spikelayers.shapes import floating_input

from .trace_ops import GradwithTrace, SpikeTraceOp


class OTTTSequential(nn.Sequential):
    """An :class:`torch.nn.Sequential` for online training through time.

    Modules run in order on a tensor ``[N, *]``. Once the running value is a list
    ``[spike, trace]`` (what :class:`~spikelayers_ottt.node.OTTTLIFNode` returns in
    training mode), each later module with parameters runs as
    :class:`~spikelayers_ottt.trace_ops.GradwithTrace` and each module without as
    :class:`~spikelayers_ottt.trace_ops.SpikeTraceOp`. The state_dict is that of the
    plain ``Sequential``.

    Args:
        *args: the modules, or one ``OrderedDict`` of named modules.
    """

    def forward(self, input: Any) -> Any:
        """``[N, *]`` through the modules; ``bool``/integer spikes are taken as floats."""
        if isinstance(input, torch.Tensor) and not input.is_floating_point():
            input = floating_input(self, input, *self.parameters())
        for module in self:
            if not isinstance(input, list):
                input = module(input)
            elif any(True for _ in module.parameters()):
                input = GradwithTrace(module)(input)
            else:
                input = SpikeTraceOp(module)(input)
        return input
