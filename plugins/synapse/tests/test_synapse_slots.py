"""SpikeCountToBinary and TemporalBinSum: definitions, pairing, activation rule, errors."""

import pytest
import torch
from torch import nn

from spikelayers import layer
from spikelayers.base import MultiStepModule
from spikelayers.testing import assert_close, parametrize_with_checks
from spikelayers_synapse.slots import bin_sum, bin_sum_reference, count_to_slots, count_to_slots_reference
from spikelayers_synapse.slots_cases import conformance_cases

CLASSES = ("SpikeCountToBinary", "TemporalBinSum")


@parametrize_with_checks(conformance_cases())
def test_slots_conform(case, check):
    check(case)


def counts(T, N, S, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, S + 1, (T, N, 3), generator=generator).double().requires_grad_(True)


@pytest.mark.parametrize(("T", "S"), [(1, 1), (3, 2), (5, 4), (2, 7)])
def test_count_to_slots_matches_reference(T, S):
    x = counts(T, 2, S)
    y = count_to_slots(x, S)
    expected = count_to_slots_reference(x, S)
    assert y.shape == (T * S, 2, 3) and y.dtype == x.dtype
    assert_close(y, expected, "slots vs reference", rtol=0, atol=1e-12)
    assert torch.equal(y.detach().unflatten(0, (T, S)).sum(1), x.detach())  # the first `count` slots fire
    weight = torch.randn_like(y)
    (grad,) = torch.autograd.grad((y * weight).sum(), x)
    (expected_grad,) = torch.autograd.grad((expected * weight).sum(), x)
    assert_close(grad, expected_grad, "count gradient vs reference", rtol=1e-12)
    assert_close(grad, weight.unflatten(0, (T, S)).mean(1), "count gradient is the mean of its slots'", rtol=1e-12)


@pytest.mark.parametrize(("T", "S"), [(1, 1), (6, 2), (7, 3), (2, 5)])
def test_bin_sum_matches_reference(T, S):
    x = torch.randn(T, 2, 3, dtype=torch.float64, requires_grad=True)
    y = bin_sum(x, S)
    expected = bin_sum_reference(x, S)
    assert y.shape == (-(-T // S), 2, 3)
    assert_close(y, expected, "bins vs reference", rtol=1e-12)
    weight = torch.randn_like(y)
    (grad,) = torch.autograd.grad((y * weight).sum(), x)
    assert_close(grad, weight.repeat_interleave(S, 0)[:T], "each step gets its bin's gradient", rtol=0)


def test_bin_sum_keeps_integer_dtype():
    x = torch.arange(10).view(5, 2)
    y = layer.TemporalBinSum(2, always_convert=True)(x)
    assert y.dtype == torch.int64 and y.tolist() == [[2, 4], [10, 12], [8, 9]]


def test_pair_around_bias_free_linear_equals_linear_on_counts():
    S = 4
    x = counts(3, 5, S)
    linear = nn.Linear(3, 2, bias=False).double()
    paired = nn.Sequential(layer.SpikeCountToBinary(S, True), linear, layer.TemporalBinSum(S, True))
    y = paired(x)
    y_direct = linear(x)
    assert_close(y, y_direct, "paired forward", rtol=1e-12)
    weight = torch.randn_like(y)
    grads = torch.autograd.grad((y * weight).sum(), (x, linear.weight))
    direct = torch.autograd.grad((y_direct * weight).sum(), (x, linear.weight))
    assert_close(list(grads), list(direct), "paired gradients (input, weight)", rtol=1e-12)


@pytest.mark.parametrize("name", CLASSES)
def test_active_only_in_eval_or_when_forced(name):
    x = torch.ones(4, 2)
    training = getattr(layer, name)(2)
    assert training(x) is x
    assert training(torch.ones(3)) is not None  # inactive: no checks at all
    training.eval()
    assert training(x).shape[0] != 4
    forced = getattr(layer, name)(2, always_convert=True)
    assert forced(x).shape[0] != 4
    assert (forced.num_slots, forced.always_convert) == (2, True)


@pytest.mark.parametrize("name", CLASSES)
def test_errors(name):
    cls = getattr(layer, name)
    for bad in (0, -1):
        with pytest.raises(ValueError, match=f"{name}.*num_slots"):
            cls(bad)
    module = cls(2, always_convert=True)
    assert isinstance(module, MultiStepModule) and module.step_mode == "m"
    with pytest.raises(ValueError, match=name):
        module.step_mode = "s"
    with pytest.raises(ValueError, match=f"{name} expects input \\[T, N, \\*\\].*got shape \\(3,\\)"):
        module(torch.zeros(3))


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
def test_empty_sequence_gives_empty_output(name, dtype):
    """``[0, N, *]`` has no steps and no bins: ``[0, N, *]`` (SpikingJelly 2.0 raises here)."""
    module = getattr(layer, name)(3, always_convert=True)
    x = torch.zeros(0, 2, 5, dtype=dtype, requires_grad=dtype.is_floating_point)
    y = module(x)
    expected_dtype = dtype if name == "TemporalBinSum" or dtype.is_floating_point else torch.get_default_dtype()
    assert y.shape == (0, 2, 5) and y.dtype == expected_dtype
    if x.requires_grad:
        (grad,) = torch.autograd.grad(y.sum(), x)
        assert grad.shape == x.shape
