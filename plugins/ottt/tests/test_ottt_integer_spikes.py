"""Spikes given as bool or integers give the float result (or an error naming the layer)."""

import pytest

from spikelayers.testing import check_integer_spikes
from spikelayers_ottt.cases import conformance_cases


@pytest.mark.parametrize("case", conformance_cases(), ids=lambda case: case.id)
def test_integer_spikes_give_the_float_result(case):
    check_integer_spikes(case)
