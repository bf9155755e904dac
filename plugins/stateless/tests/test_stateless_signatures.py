"""Constructor signatures, torch base classes and registry resolution."""

from __future__ import annotations

import pytest
from torch import nn

from spikelayers import layer
from spikelayers.testing import check_signature
from spikelayers_stateless import conv, flatten, linear, pool, unpool, upsample, voting
from spikelayers_stateless.plugin import LAYERS

CLASSES = {
    conv.Conv1d: nn.Conv1d,
    conv.Conv2d: nn.Conv2d,
    conv.Conv3d: nn.Conv3d,
    conv.ConvTranspose1d: nn.ConvTranspose1d,
    conv.ConvTranspose2d: nn.ConvTranspose2d,
    conv.ConvTranspose3d: nn.ConvTranspose3d,
    pool.MaxPool1d: nn.MaxPool1d,
    pool.MaxPool2d: nn.MaxPool2d,
    pool.MaxPool3d: nn.MaxPool3d,
    pool.AvgPool1d: nn.AvgPool1d,
    pool.AvgPool2d: nn.AvgPool2d,
    pool.AvgPool3d: nn.AvgPool3d,
    pool.AdaptiveAvgPool1d: nn.AdaptiveAvgPool1d,
    pool.AdaptiveAvgPool2d: nn.AdaptiveAvgPool2d,
    pool.AdaptiveAvgPool3d: nn.AdaptiveAvgPool3d,
    linear.Linear: nn.Linear,
    flatten.Flatten: nn.Flatten,
    upsample.Upsample: nn.Upsample,
    voting.VotingLayer: nn.Module,
    unpool.MaxUnpool1d: nn.MaxUnpool1d,
    unpool.MaxUnpool2d: nn.MaxUnpool2d,
    unpool.MaxUnpool3d: nn.MaxUnpool3d,
}


@pytest.mark.parametrize("cls", list(CLASSES), ids=lambda cls: cls.__name__)
def test_signature_matches_reference(cls):
    check_signature(cls)


@pytest.mark.parametrize("cls", list(CLASSES), ids=lambda cls: cls.__name__)
def test_subclasses_torch_layer_and_resolves_through_registry(cls):
    assert issubclass(cls, CLASSES[cls])
    assert getattr(layer, cls.__name__) is cls


def test_plugin_lists_every_class():
    assert set(LAYERS) == {cls.__name__ for cls in CLASSES}


def test_step_mode_from_constructor_and_repr():
    conv2d = conv.Conv2d(2, 3, 3, step_mode="m")
    assert conv2d.step_mode == "m"
    assert "step_mode=m" in repr(conv2d)
    assert "kernel_size=(3, 3)" in repr(conv2d)
    assert "voting_size=4" in repr(voting.VotingLayer(4))
    with pytest.raises(ValueError, match="MaxPool2d"):
        pool.MaxPool2d(2, step_mode="x")


def test_voting_size_must_be_positive_int():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="voting_size"):
            voting.VotingLayer(bad)
