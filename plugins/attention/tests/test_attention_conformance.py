"""The conformance kit over every attention configuration (multi-step only)."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_attention.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_attention_conforms(case, check):
    check(case)
