"""The conformance kit over the BNTT layers."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_norm.bntt_cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_bntt_conforms(case, check):
    check(case)
