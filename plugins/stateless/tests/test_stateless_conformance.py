"""The conformance kit over every stateless layer in both step modes."""

from __future__ import annotations

from spikelayers.testing import parametrize_with_checks
from spikelayers_stateless.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_stateless_conforms(case, check):
    check(case)
