"""The conformance kit over every dropout configuration in every step mode."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_dropout.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_dropout_conforms(case, check):
    check(case)
