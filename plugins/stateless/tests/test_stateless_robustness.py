"""Unusual but legal inputs (strided, channels-last, empty batch) and autocast."""

from __future__ import annotations

import pytest

from spikelayers.testing import InputVariant, check_autocast, check_input_variant
from spikelayers_stateless.cases import conformance_cases

CASES = conformance_cases()
VARIANTS = [
    InputVariant(layout="strided"),
    InputVariant(layout="channels_last"),
    InputVariant(batch=0),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_input_variant(case, variant):
    check_input_variant(case, variant)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_autocast_bfloat16(case):
    check_autocast(case)
