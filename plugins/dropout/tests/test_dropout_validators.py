"""The dropout layers check their arguments with the core's validators."""

import pytest

from spikelayers_dropout.dropconnect import DropConnectLinear
from spikelayers_dropout.dropout import Dropout, Dropout2d


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: DropConnectLinear(3, 2, samples_num=2.0),
            "DropConnectLinear: samples_num must be a positive int, got 2.0",
        ),
        (lambda: DropConnectLinear(0, 2), "DropConnectLinear: in_features must be a positive int, got 0"),
        (lambda: DropConnectLinear(3, 2, p="0.5"), "DropConnectLinear: p must be a number with 0 <= p <= 1, got '0.5'"),
        (lambda: Dropout(1.0), "Dropout: p must satisfy 0 <= p < 1, got 1.0"),
        (lambda: Dropout2d(True), "Dropout2d: p must be a number with 0 <= p < 1, got True"),
    ],
)
def test_bad_arguments_get_the_core_message(build, message):
    with pytest.raises(ValueError) as error:
        build()
    assert str(error.value) == message
