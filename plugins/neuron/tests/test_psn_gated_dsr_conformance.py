"""The conformance kit over the parallel spiking, gated LIF and DSR neurons."""

from spikelayers import neuron
from spikelayers.testing import installed_cases, parametrize_with_checks
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
