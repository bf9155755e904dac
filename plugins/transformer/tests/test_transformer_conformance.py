"""The conformance kit over every attention block (multi-step only)."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_transformer.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_transformer_conforms(case, check):
    check(case)
