"""Rediscovering plugins in one thread while others use the registry never deadlocks
and never shows a half-built registry."""

from __future__ import annotations

import threading
import time

import torch
from torch import nn

from spikelayers import functional, kernels, layer, plugins
from spikelayers.handlers import StatefulHandler
from spikelayers.hookspecs import hookimpl

DURATION_S = 10.0
"""How long the threads race."""


def double(x):
    return x * 2


class Foreign(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.state = 1


class SteadyPlugin:
    @hookimpl
    def spikelayers_kernels(self):
        return [kernels.KernelSpec("test.steady", "torch", double)]

    @hookimpl
    def spikelayers_stateful_handlers(self):
        return [StatefulHandler((Foreign,), lambda module: setattr(module, "state", 0))]


class Flicker:
    @hookimpl
    def spikelayers_provides(self):
        return {"layer": {"Flicker": "torch.nn:Identity"}}


def test_reload_against_lookups_kernels_and_reset_net(clean_registry):
    plugins.register_plugin(SteadyPlugin(), name="steady")
    stop = threading.Event()
    failures: list[BaseException] = []
    counts = {"reloads": 0, "uses": 0}

    def reloader() -> None:
        try:
            while not stop.is_set():
                plugins.register_plugin(Flicker(), name="flicker")
                assert "Flicker" in plugins.get_registry().targets["layer"] or plugins._current is None
                plugins.reload()
                plugins.unregister_plugin("flicker")
                plugins.get_registry()
                counts["reloads"] += 1
        except BaseException as error:
            failures.append(error)

    def user() -> None:
        net = nn.Sequential(Foreign(), nn.ReLU())
        x = torch.ones(3)
        try:
            while not stop.is_set():
                registry = plugins.get_registry()
                assert registry.plugins["core"].healthy and registry.plugins["steady"].healthy
                assert "MultiStepContainer" in registry.targets["layer"]
                assert torch.equal(kernels.get_kernel("test.steady", "torch", "cpu")(x), x * 2)
                net[0].state = 1
                functional.reset_net(net)
                assert net[0].state == 0
                assert layer.StepModeContainer.__name__ == "StepModeContainer"
                counts["uses"] += 1
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=reloader, daemon=True)] + [
        threading.Thread(target=user, daemon=True) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    time.sleep(DURATION_S)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: deadlock"
    assert not failures, failures[0]
    assert counts["reloads"] > 3 and counts["uses"] > 3, counts
