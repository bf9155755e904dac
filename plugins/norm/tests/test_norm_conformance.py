"""The conformance kit over every normalisation layer in every supported mode."""

from spikelayers.testing import parametrize_with_checks
from spikelayers_norm.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_norm_conforms(case, check):
    check(case)
