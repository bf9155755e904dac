"""The demo's spiking convolutional network, built from five layer families."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers import functional, layer, neuron


class DigitsSNN(nn.Module):
    """A spiking CNN for 8x8 digits, run in multi-step mode.

    Input ``[T, N, 1, 8, 8]`` (the image repeated over ``T``, fed as a current); output
    ``[T, N, 10]``, the voted spike output of ten groups of readout neurons. Families
    used: stateless (Conv2d, MaxPool2d, Flatten, Linear, VotingLayer), norm
    (BatchNorm2d), neuron (LIFNode), dropout (Dropout), synapse (SynapseFilter on the
    readout).
    """

    def __init__(self, channels: int = 32, voting_size: int = 10, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            layer.Conv2d(1, channels, kernel_size=3, padding=1, bias=False),
            layer.BatchNorm2d(channels),
            neuron.LIFNode(tau=2.0, detach_reset=True),
            layer.MaxPool2d(2),
            layer.Conv2d(channels, 2 * channels, kernel_size=3, padding=1, bias=False),
            layer.BatchNorm2d(2 * channels),
            neuron.LIFNode(tau=2.0, detach_reset=True),
            layer.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            layer.Flatten(),
            layer.Dropout(dropout),
            layer.Linear(2 * channels * 2 * 2, 10 * voting_size),
            neuron.LIFNode(tau=2.0, detach_reset=True),
            layer.VotingLayer(voting_size),
            layer.SynapseFilter(tau=2.0),
        )
        functional.set_step_mode(self, "m")

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x_seq))

    def spiking_layers(self) -> list[tuple[str, nn.Module]]:
        """The neuron layers, named by position, for recording spikes."""
        return [(name, m) for name, m in self.named_modules() if isinstance(m, neuron.LIFNode)]
