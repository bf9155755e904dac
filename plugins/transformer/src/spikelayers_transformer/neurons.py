"""The spiking neurons inside the attention blocks.

With ``spiking_neuron=None`` every neuron is a ``spikelayers.neuron.LIFNode`` with
``tau=2.0, detach_reset=True`` (the attention neuron also ``v_threshold=0.5``), the
block's ``**kwargs`` applied on top. With a class, every neuron is
``spiking_neuron(**kwargs, step_mode='m')`` and those defaults do not apply.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

LIF_DEFAULTS: Mapping[str, Any] = {"tau": 2.0, "detach_reset": True}
ATTENTION_LIF_DEFAULTS: Mapping[str, Any] = {"tau": 2.0, "v_threshold": 0.5, "detach_reset": True}


def check_neuron_kwargs(block: str, kwargs: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless the neurons' ``step_mode`` (if given) is ``'m'``."""
    mode = kwargs.get("step_mode", "m")
    if mode != "m":
        raise ValueError(f"{block}: its neurons run whole sequences, step_mode must be 'm', got {mode!r}")


def make_neuron(
    block: str,
    spiking_neuron: Callable[..., nn.Module] | None,
    kwargs: Mapping[str, Any],
    defaults: Mapping[str, Any] = LIF_DEFAULTS,
) -> nn.Module:
    """One multi-step neuron of ``block`` (see the module docstring for the rules)."""
    check_neuron_kwargs(block, kwargs)
    if spiking_neuron is None:
        from spikelayers import neuron

        factory: Callable[..., nn.Module] = neuron.LIFNode
        parameters = dict(defaults)
    else:
        factory = spiking_neuron
        parameters = {}
    parameters.update(copy.deepcopy(dict(kwargs)))
    parameters["step_mode"] = "m"
    return factory(**parameters)
