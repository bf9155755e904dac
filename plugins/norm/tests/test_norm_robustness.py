"""Unusual but legal inputs (strided, channels-last, empty batch, NaN/Inf, other T) and autocast."""

import pytest

from spikelayers.testing import InputVariant, check_autocast, check_input_variant
from spikelayers_norm.cases import conformance_cases

# One configuration per class keeps the suite short.
CASES = [case for case in conformance_cases() if not case.id.endswith(("-train", "-L", "-L-eval", "-shared"))]
VARIANTS = [
    InputVariant(layout="strided"),
    InputVariant(layout="channels_last"),
    InputVariant(batch=0),
    InputVariant(special="nan"),
    InputVariant(special="inf"),
    InputVariant(T=5),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_norm_input_variants(case, variant):
    check_input_variant(case, variant)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_norm_autocast(case):
    check_autocast(case)
