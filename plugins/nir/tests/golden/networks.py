"""The two networks of the golden tests, built from either library's ``layer`` and
``neuron`` namespaces (``make_golden.py`` records them, ``test_nir_golden.py`` replays)."""

from __future__ import annotations

from types import ModuleType

from torch import nn


def plain_network(layers: ModuleType, neurons: ModuleType) -> nn.Sequential:
    """Conv2d -> LIF -> AvgPool2d -> Flatten -> Linear -> PLIF -> Linear -> IF on ``[N, 2, 8, 8]``."""
    return nn.Sequential(
        layers.Conv2d(2, 4, 3, padding=1),
        neurons.LIFNode(tau=2.0, v_threshold=0.5),
        layers.AvgPool2d(2),
        layers.Flatten(),
        layers.Linear(64, 16),
        neurons.ParametricLIFNode(init_tau=3.0, decay_input=False, v_threshold=0.4, v_reset=-0.1),
        layers.Linear(16, 10, bias=False),
        neurons.IFNode(v_threshold=0.3),
    )


def batch_norm_network(layers: ModuleType, neurons: ModuleType) -> nn.Sequential:
    """Conv2d -> BatchNorm2d -> LIF -> AvgPool2d -> Flatten -> Linear -> IF on ``[N, 2, 8, 8]``."""
    return nn.Sequential(
        layers.Conv2d(2, 4, 3, padding=1),
        layers.BatchNorm2d(4),
        neurons.LIFNode(tau=2.0, v_threshold=0.5),
        layers.AvgPool2d(2),
        layers.Flatten(),
        layers.Linear(64, 10),
        neurons.IFNode(v_threshold=0.3),
    )
