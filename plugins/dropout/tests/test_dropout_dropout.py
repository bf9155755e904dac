"""Dropout and Dropout2d: one mask per sequence, redrawn after reset."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from spikelayers import functional
from spikelayers.errors import StateShapeError
from spikelayers.testing import assert_close, check_signature
from spikelayers_dropout.dropout import Dropout, Dropout2d


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
def test_signature(cls):
    check_signature(cls)


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_p_range(cls, p):
    with pytest.raises(ValueError, match=cls.__name__):
        cls(p)


def test_mask_is_kept_across_steps_and_scaled():
    torch.manual_seed(0)
    layer = Dropout(0.25)
    x = torch.rand(6, 8, 10) + 0.5
    outputs = [layer(step) for step in x]
    mask = layer.mask
    assert mask.shape == (8, 10)
    values = mask.unique()
    assert len(values) == 2
    assert values[0].item() == 0.0 and values[1].item() == pytest.approx(1 / 0.75)
    for step, out in zip(x, outputs):
        assert_close(out, step * mask, "every step uses the first mask")


def test_multi_step_uses_one_mask_for_all_steps():
    torch.manual_seed(1)
    layer = Dropout(0.5, step_mode="m")
    x = torch.rand(5, 4, 7) + 0.5
    y = layer(x)
    zeros = y == 0
    assert zeros.any() and (~zeros).any()
    assert (zeros == zeros[0]).all()
    assert_close(y, x * layer.mask, "y = x * mask")


def test_mask_redrawn_after_reset():
    torch.manual_seed(2)
    layer = Dropout(0.5, step_mode="m")
    x = torch.ones(2, 16, 32)
    first = layer(x).clone()
    assert_close(layer(x), first, "same mask before reset")
    functional.reset_net(layer)
    assert layer.mask is None
    second = layer(x)
    assert not torch.equal(second, first)


def test_single_and_multi_step_draw_the_same_mask():
    x = torch.rand(4, 3, 9)
    torch.manual_seed(7)
    y_m = Dropout(0.4, step_mode="m")(x)
    torch.manual_seed(7)
    single = Dropout(0.4)
    y_s = torch.stack([single(step) for step in x])
    assert_close(y_m, y_s, "'m' vs loop of 's'")


def test_eval_is_identity_and_draws_nothing():
    layer = Dropout(0.5, step_mode="m").eval()
    x = torch.rand(3, 2, 4)
    assert torch.equal(layer(x), x)
    assert layer.mask is None


def test_dropout2d_zeroes_whole_channels():
    torch.manual_seed(3)
    layer = Dropout2d(0.5, step_mode="m")
    x = torch.rand(3, 4, 6, 5, 5) + 0.5
    y = layer(x)
    assert layer.mask.shape == (4, 6, 1, 1)
    per_channel_zero = (y == 0).flatten(3)
    assert (per_channel_zero.all(-1) == per_channel_zero.any(-1)).all()
    assert per_channel_zero.all(-1).any()
    assert_close(y, x * layer.mask, "y = x * mask")


def test_pickle_mid_sequence_continues_with_the_mask():
    torch.manual_seed(4)
    layer = Dropout(0.5, step_mode="m")
    x = torch.rand(4, 3, 5)
    layer(x[:2])
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert_close(clone(x[2:]), layer(x[2:]), "continuation")


def test_batch_change_without_reset_raises():
    layer = Dropout(0.5, step_mode="m")
    layer(torch.rand(2, 3, 4))
    with pytest.raises(StateShapeError, match="reset_net"):
        layer(torch.rand(2, 5, 4))


def test_gradient_is_masked():
    torch.manual_seed(5)
    layer = Dropout(0.5, step_mode="m")
    x = torch.rand(3, 2, 6, requires_grad=True)
    layer(x).sum().backward()
    assert_close(x.grad, layer.mask.expand_as(x), "gradient")


def test_bad_rank_names_layer_and_layout():
    with pytest.raises(ValueError, match=r"Dropout2d.*\[T, N, C, \*\]"):
        Dropout2d(step_mode="m")(torch.rand(3, 4))
