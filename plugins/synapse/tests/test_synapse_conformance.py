"""The conformance kit over every synapse configuration in every step mode."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_synapse.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_synapse_conforms(case, check):
    check(case)
