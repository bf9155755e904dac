"""The attention layers check their arguments with the core's validators."""

import pytest
import torch

from spikelayers import validators
from spikelayers_attention import _validation
from spikelayers_attention.multi_dimensional import MultiDimensionalAttention
from spikelayers_attention.temporal import TemporalWiseAttention


def test_positive_int_is_the_core_one():
    assert _validation.positive_int is validators.positive_int


def test_integer_tensors_count_as_ints():
    layer = TemporalWiseAttention(torch.tensor(4), reduction=torch.tensor(2), dimension=2)
    assert type(layer.T) is int and type(layer.reduction) is int
    assert layer(torch.randn(4, 2, 3)).shape == (4, 2, 3)


def test_bad_counts_get_the_core_message():
    with pytest.raises(ValueError, match=r"^MultiDimensionalAttention: C must be a positive int, got 2.5$"):
        MultiDimensionalAttention(4, 2.5)
