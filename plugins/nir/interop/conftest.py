"""Helpers of the interoperability checks (run by the ``nir-interop`` tox env only)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from spikelayers import functional


def ours_multi_step(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Our network on ``[T, N, *]`` from a fresh state."""
    functional.set_step_mode(net, "m")
    functional.reset_net(net)
    with torch.no_grad():
        out = net(x)
    functional.reset_net(net)
    return out


def stepped(module: nn.Module, x: torch.Tensor, stateful: bool) -> torch.Tensor:
    """A foreign module step by step; ``stateful`` modules take and return ``state``."""
    outputs, state = [], None
    with torch.no_grad():
        for step in x:
            if stateful:
                out, state = module(step, state)
            else:
                out = module(step)
                out = out[0] if isinstance(out, tuple) else out
            outputs.append(out)
    return torch.stack(outputs)


def spikes(shape: tuple[int, ...], seed: int = 0, p: float = 0.5) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p).float()


@pytest.fixture(autouse=True)
def quiet_foreign_loggers():
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(ours_multi_step=ours_multi_step, stepped=stepped, spikes=spikes)
