"""Networks and helpers shared by the NIR tests (handed out through the ``kit`` fixture)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nir
import pytest
import torch
from torch import nn

from spikelayers import functional, layer, neuron
from spikelayers.base import MemoryModule
from spikelayers_neuron.node import BaseNode
from spikelayers_nir import from_nir, to_nir


def done_when_network(seed: int = 0) -> nn.Sequential:
    """Conv2d -> BatchNorm2d -> LIF -> AvgPool2d -> Flatten -> Linear -> IF on [N, 2, 8, 8]."""
    torch.manual_seed(seed)
    return nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        layer.BatchNorm2d(4),
        neuron.LIFNode(tau=2.0, v_threshold=0.5),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(4 * 4 * 4, 10),
        neuron.IFNode(v_threshold=0.3),
    )


def train_a_few_steps(net: nn.Module, steps: int = 3, seed: int = 1) -> nn.Module:
    """A few Adam steps on random spikes in multi-step mode, then eval mode and single-step."""
    generator = torch.Generator().manual_seed(seed)
    functional.set_step_mode(net, "m")
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    net.train()
    for _ in range(steps):
        x = (torch.rand(4, 8, 2, 8, 8, generator=generator) > 0.5).float()
        target = torch.rand(8, 10, generator=generator)
        functional.reset_net(net)
        loss = ((net(x).mean(0) - target) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    functional.reset_net(net)
    functional.set_step_mode(net, "s")
    return net.eval()


def spikes(shape: tuple[int, ...], seed: int = 2, p: float = 0.5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator) < p).float()


def neurons(net: nn.Module) -> list[MemoryModule]:
    return [module for module in net.modules() if isinstance(module, BaseNode)]


def run(net: nn.Module, x: torch.Tensor, step_mode: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Output and every neuron's final potential, from a fresh state; ``x`` is ``[T, N, *]``."""
    functional.set_step_mode(net, step_mode)
    functional.reset_net(net)
    with torch.no_grad():
        out = net(x) if step_mode == "m" else torch.stack([net(step) for step in x])
    potentials = [torch.as_tensor(cell.v).clone() for cell in neurons(net)]
    functional.reset_net(net)
    return out, potentials


def round_trip(net: nn.Module, example: torch.Tensor, path: Path, **options) -> nn.Module:
    """``net`` through a ``.nir`` file and back."""
    import_options = {"exact_threshold": options.get("exact_threshold", False)}
    graph = to_nir(net, example, **options)
    nir.write(path, graph)
    return from_nir(path, **import_options)


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(
        done_when_network=done_when_network,
        train_a_few_steps=train_a_few_steps,
        spikes=spikes,
        neurons=neurons,
        run=run,
        round_trip=round_trip,
    )
