"""The stateless layers check arguments and layouts with the core's validators."""

import pytest

from spikelayers import shapes
from spikelayers_stateless import folding
from spikelayers_stateless.voting import VotingLayer


def test_layout_is_the_core_layout():
    assert folding.Layout is shapes.Layout


@pytest.mark.parametrize("size", [0, 2.5, True])
def test_voting_size_gets_the_core_message(size):
    with pytest.raises(ValueError, match=rf"^VotingLayer: voting_size must be a positive int, got {size!r}$"):
        VotingLayer(size)
