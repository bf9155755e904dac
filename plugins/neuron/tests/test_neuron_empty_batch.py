"""An empty batch runs forward and backward through every fused multi-step path."""

import pytest
import torch

from spikelayers import neuron

BUILDS = {
    "IFNode": lambda: neuron.IFNode(step_mode="m"),
    "LIFNode": lambda: neuron.LIFNode(step_mode="m", store_v_seq=True),
    "ParametricLIFNode": lambda: neuron.ParametricLIFNode(step_mode="m"),
    "QIFNode": lambda: neuron.QIFNode(step_mode="m"),
    "EIFNode": lambda: neuron.EIFNode(step_mode="m"),
    "KLIFNode": lambda: neuron.KLIFNode(step_mode="m"),
    "IzhikevichNode": lambda: neuron.IzhikevichNode(step_mode="m"),
    "GatedLIFNode": lambda: neuron.GatedLIFNode(6, inplane=4, step_mode="m"),
    "DSRIFNode": lambda: neuron.DSRIFNode(T=6, step_mode="m"),
    "DSRLIFNode": lambda: neuron.DSRLIFNode(T=6, step_mode="m"),
    "PSN": lambda: neuron.PSN(6),
    "MaskedPSN": lambda: neuron.MaskedPSN(k=2, T=6, step_mode="m"),
    "SlidingPSN": lambda: neuron.SlidingPSN(k=2, step_mode="m"),
}


@pytest.mark.parametrize("name", BUILDS)
def test_empty_batch_gives_empty_spikes_and_gradients(name):
    layer = BUILDS[name]()
    x = torch.randn(6, 0, 4, 3, requires_grad=True)
    spikes = layer(x)
    spikes.sum().backward()
    assert spikes.shape == x.shape and x.grad.shape == x.shape
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in layer.parameters())
