"""DropConnectLinear: per-sample masks, invariance until reset, moment-matched inference."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from spikelayers import functional
from spikelayers.base import MemoryModule
from spikelayers.errors import StateShapeError
from spikelayers.testing import assert_close, check_signature
from spikelayers_dropout.dropconnect import DropConnectLinear


def masked_reference(layer, x, keep_weight, keep_bias):
    """``activation(W_n x_n + b_n)`` one sample at a time."""
    rows = []
    for n in range(x.shape[0]):
        w = layer.weight * keep_weight[n]
        b = layer.bias * keep_bias[n] if layer.bias is not None else 0.0
        rows.append(w @ x[n] + b)
    return layer.activation(torch.stack(rows))


def test_signature_and_aliases():
    check_signature(DropConnectLinear, aliases={"step_mode": "state_mode"})
    assert DropConnectLinear(3, 2, state_mode="m").step_mode == "m"
    assert DropConnectLinear(3, 2, step_mode="m").step_mode == "m"
    layer = DropConnectLinear(3, 2)
    assert layer.step_mode == "s" and isinstance(layer, nn.Linear)
    assert isinstance(layer.activation, nn.ReLU)
    assert layer.activation is not DropConnectLinear(3, 2).activation


def test_loads_a_linear_state_dict():
    linear = nn.Linear(4, 3)
    layer = DropConnectLinear(4, 3)
    layer.load_state_dict(linear.state_dict())
    assert torch.equal(layer.weight, linear.weight)


@pytest.mark.parametrize("bias", [True, False])
def test_training_step_matches_per_sample_reference(bias):
    torch.manual_seed(0)
    layer = DropConnectLinear(6, 4, bias=bias, p=0.4, invariant=True)
    x = torch.randn(5, 6)
    y = layer(x)
    assert layer.weight_mask.shape == (5, 4, 6) and layer.weight_mask.dtype == torch.bool
    assert (layer.bias_mask is None) == (not bias)
    assert_close(y, masked_reference(layer, x, layer.weight_mask, layer.bias_mask), "masked output")


def test_masks_differ_between_samples_and_are_not_rescaled():
    torch.manual_seed(1)
    layer = DropConnectLinear(50, 40, p=0.3, invariant=True, activation=None)
    x = torch.ones(2, 50)
    layer(x)
    mask = layer.weight_mask
    assert not torch.equal(mask[0], mask[1])
    assert abs(mask.float().mean().item() - 0.7) < 0.03
    y = layer(x)
    expected = (layer.weight * mask).sum(-1) + layer.bias * layer.bias_mask
    assert_close(y, expected, "unscaled masked output")


def test_invariant_keeps_masks_until_reset():
    torch.manual_seed(2)
    layer = DropConnectLinear(8, 6, invariant=True, step_mode="m")
    x = torch.randn(3, 4, 8)
    first = layer(x)
    mask = layer.weight_mask.clone()
    assert_close(layer(x), first, "second call, same masks")
    for t in range(3):
        assert_close(first[t], masked_reference(layer, x[t], mask, layer.bias_mask), f"step {t}")
    layer.reset()
    assert layer.weight_mask is None
    layer(x)
    assert not torch.equal(layer.weight_mask, mask)


def test_not_invariant_draws_new_masks_every_step():
    torch.manual_seed(3)
    layer = DropConnectLinear(8, 6, activation=None)
    x = torch.randn(4, 8)
    assert not torch.equal(layer(x), layer(x))
    assert layer.weight_mask is None


def test_gradients_reach_weight_and_bias_through_masks():
    torch.manual_seed(4)
    layer = DropConnectLinear(5, 3, invariant=True, activation=None)
    x = torch.randn(4, 5)
    layer(x).sum().backward()
    expected_w = (layer.weight_mask.float() * x[:, None, :]).sum(0)
    assert_close(layer.weight.grad, expected_w, "weight gradient")
    assert_close(layer.bias.grad, layer.bias_mask.float().sum(0), "bias gradient")


def test_eval_moment_matching_matches_formula():
    torch.manual_seed(5)
    layer = DropConnectLinear(6, 4, p=0.3, samples_num=64).eval()
    x = torch.randn(3, 6)
    torch.manual_seed(9)
    y = layer(x)
    torch.manual_seed(9)
    mu = 0.7 * (x @ layer.weight.T + layer.bias)
    var = 0.3 * 0.7 * ((x * x) @ (layer.weight * layer.weight).T + layer.bias**2)
    samples = mu + var.sqrt() * torch.randn(64, 3, 4)
    assert_close(y, torch.relu(samples).mean(0), "moment-matched output")


def test_eval_converges_to_mean_without_activation():
    torch.manual_seed(6)
    layer = DropConnectLinear(6, 4, p=0.5, samples_num=20000, activation=None).eval()
    x = torch.randn(2, 6)
    expected = 0.5 * (x @ layer.weight.T + layer.bias)
    assert_close(layer(x), expected, "sample mean", rtol=0.0, atol=0.05)


class CountingActivation(MemoryModule):
    """A stateful activation that counts its calls (memory ``calls``)."""

    def __init__(self):
        super().__init__()
        self.register_memory("calls", 0)

    def single_step_forward(self, x):
        self.calls = self.calls + 1
        return torch.relu(x)


def test_reset_resets_a_stateful_activation_and_drives_it_per_step():
    activation = CountingActivation()
    layer = DropConnectLinear(4, 3, invariant=True, activation=activation)
    functional.set_step_mode(layer, "m")
    assert layer.step_mode == "m" and activation.step_mode == "s"
    layer(torch.randn(5, 2, 4))
    assert activation.calls == 5
    layer.reset()
    assert activation.calls == 0


def test_batch_change_without_reset_raises():
    layer = DropConnectLinear(4, 3, invariant=True, step_mode="m")
    layer(torch.randn(2, 3, 4))
    with pytest.raises(StateShapeError, match="reset_net"):
        layer(torch.randn(2, 5, 4))


@pytest.mark.parametrize(("kwargs", "match"), [({"p": 1.5}, "p must"), ({"samples_num": 0}, "samples_num")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DropConnectLinear(3, 2, **kwargs)


def test_bad_rank_names_layer_and_layout():
    with pytest.raises(ValueError, match=r"DropConnectLinear.*\[N, in_features\]"):
        DropConnectLinear(3, 2)(torch.randn(2, 2, 3))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_wrong_in_features_says_what_linear_says(training, step_mode):
    layer = DropConnectLinear(5, 2, step_mode=step_mode).train(training)
    x = torch.randn(3, 4) if step_mode == "s" else torch.randn(2, 3, 4)
    layout = "[N, in_features]" if step_mode == "s" else "[T, N, in_features]"
    expected = rf"DropConnectLinear \(step_mode='{step_mode}'\) expects input {re.escape(layout)} with in_features=5, got shape"
    with pytest.raises(ValueError, match=expected):
        layer(x)


def test_a_step_that_raises_keeps_no_invariant_mask():
    layer = DropConnectLinear(4, 3, invariant=True, activation=nn.Identity())
    with pytest.raises(RuntimeError):
        layer(torch.randn(2, 4, dtype=torch.float64))  # float64 input, float32 weights: torch refuses
    assert layer.weight_mask is None and layer.bias_mask is None
    y = layer(torch.randn(2, 4))
    assert y.shape == (2, 3) and layer.weight_mask.shape == (2, 3, 4)
