"""The conformance kit over every neuron configuration in every step mode."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_neuron.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_neuron_conforms(case, check):
    check(case)
