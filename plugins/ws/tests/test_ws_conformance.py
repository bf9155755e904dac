"""The conformance kit over both weight-standardised layers in both step modes."""

from __future__ import annotations

from spikelayers.testing import parametrize_with_checks
from spikelayers_ws.cases import conformance_cases


@parametrize_with_checks(conformance_cases())
def test_ws_conforms(case, check):
    check(case)
