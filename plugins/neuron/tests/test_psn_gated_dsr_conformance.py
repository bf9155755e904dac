"""The conformance kit over the parallel spiking, gated LIF and DSR neurons."""

import pytest
import torch

from spikelayers import neuron
from spikelayers.testing import assert_close, installed_cases, parametrize_with_checks
from spikelayers_neuron.psn_gated_dsr_cases import psn_gated_dsr_cases


@parametrize_with_checks(psn_gated_dsr_cases())
def test_neuron_conforms(case, check):
    check(case)


def test_the_plugin_provides_the_neurons_and_their_cases():
    from spikelayers_neuron import dsr, gated, psn

    assert neuron.PSN is psn.PSN and neuron.MaskedPSN is psn.MaskedPSN and neuron.SlidingPSN is psn.SlidingPSN
    assert neuron.GatedLIFNode is gated.GatedLIFNode
    assert neuron.DSRIFNode is dsr.DSRIFNode and neuron.DSRLIFNode is dsr.DSRLIFNode
    names = {case.id for case in installed_cases()}
    assert {case.id for case in psn_gated_dsr_cases()} <= names


@pytest.mark.parametrize("case", psn_gated_dsr_cases(), ids=lambda case: case.id)
def test_neuron_follows_a_dtype_change(case):
    """After ``.to(torch.float64)`` the neuron computes in float64, with the float32 numbers."""
    mode = case.modes()[0]
    results = {}
    for dtype in (torch.float32, torch.float64):
        layer = case.build_in_mode(mode).to(dtype)
        x = case.sequence().detach().to(dtype).requires_grad_()
        y = torch.stack([layer(x_t) for x_t in x]) if mode == "s" else layer(x)
        assert y.dtype == dtype
        (y * torch.linspace(-1, 1, y.numel(), dtype=dtype).view(y.shape)).sum().backward()
        grads = [x.grad] + [p.grad for p in layer.parameters()]
        assert all(g is None or g.dtype == dtype for g in grads)
        results[dtype] = [y, *grads]
    assert_close(results[torch.float64], results[torch.float32], f"{case.id}: float64 vs float32", rtol=1e-4, atol=1e-4)
