"""The normalisation layers check arguments and layouts with the core's validators."""

import pytest

from spikelayers import shapes
from spikelayers_norm._layout import LAYOUT_1D, LAYOUT_2D, LAYOUT_3D, LAYOUT_ND
from spikelayers_norm.tebn import TemporalEffectiveBatchNorm1d


def test_layouts_are_the_core_layout():
    assert all(type(layout) is shapes.Layout for layout in (LAYOUT_1D, LAYOUT_2D, LAYOUT_3D, LAYOUT_ND))


def test_tebn_T_gets_the_core_message():
    with pytest.raises(ValueError, match=r"^TemporalEffectiveBatchNorm1d: T must be a positive int, got 2.5$"):
        TemporalEffectiveBatchNorm1d(2.5, 3)
