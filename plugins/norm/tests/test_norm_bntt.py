"""BatchNormThroughTime1d/2d/3d: the all-steps path held to per-step batch norms, the step counter, errors."""

import copy

import pytest
import torch
from torch import nn

from spikelayers import functional, layer
from spikelayers.base import MemoryModule
from spikelayers.testing import assert_close
from spikelayers_norm import bntt as bntt_module
from spikelayers_norm.bntt import batch_norm_through_time, batch_norm_through_time_reference
from spikelayers_norm.bntt_cases import randomise_steps

SHAPES = {1: [(5, 3), (5, 3, 4)], 2: [(5, 3, 4, 2)], 3: [(5, 3, 2, 3, 2)]}
CONFIGS = [
    {},
    {"affine": False},
    {"momentum": None},
    {"track_running_stats": False, "eps": 0.1},
]


def build(dims, T=4, **kwargs):
    return randomise_steps(getattr(layer, f"BatchNormThroughTime{dims}d")(T, 3, **kwargs).double())


def buffers(module):
    return [b.clone() for b in module.buffers()]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(("dims", "shape"), [(d, s) for d, shapes in SHAPES.items() for s in shapes])
@pytest.mark.parametrize("small_steps", ["all-steps path", "per-step path"])
def test_all_steps_path_matches_per_step_batch_norms(dims, shape, training, config, small_steps, monkeypatch):
    """The whole-sequence path (forced for these small steps) and the per-step path that
    small steps take by default both give the per-step batch norms' numbers."""
    if small_steps == "all-steps path":
        monkeypatch.setattr(bntt_module, "SMALL_STEP_ELEMENTS", 0)
    torch.manual_seed(0)
    fast = build(dims, **config)
    slow = copy.deepcopy(fast)
    x = (2 * torch.randn(4, *shape, dtype=torch.float64) + 0.3).requires_grad_(True)
    y = batch_norm_through_time(x, list(fast.bn_list), training)
    for norm in slow.bn_list:
        norm.train(training)
    expected = batch_norm_through_time_reference(x, slow.bn_list)
    assert_close(y, expected, "output", rtol=1e-10, atol=1e-12)
    assert_close(buffers(fast), buffers(slow), "running statistics", rtol=1e-10, atol=1e-12)
    weight = torch.randn_like(y)
    inputs = [x, *fast.parameters()]
    grads = torch.autograd.grad((y * weight).sum(), inputs)
    expected_grads = torch.autograd.grad((expected * weight).sum(), [x, *slow.parameters()])
    assert_close(list(grads), list(expected_grads), "gradients (input, weights)", rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("config", [{}, {"affine": False}], ids=str)
def test_second_derivatives_of_the_all_steps_path(config, monkeypatch):
    """Double backward (e.g. a gradient penalty) through the whole-sequence path in training:
    the statistics depend on the input, and the second derivatives account for it."""
    monkeypatch.setattr(bntt_module, "SMALL_STEP_ELEMENTS", 0)
    torch.manual_seed(0)
    bntt = build(2, **config)
    x = torch.randn(4, 3, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    params = tuple(bntt.parameters())

    def normalise(x, *weights):
        norms = copy.deepcopy(bntt)
        for norm, w in zip(norms.bn_list, weights, strict=False):
            del norm.weight  # the parameter, replaced by the differentiated tensor
            norm.weight = w
        return batch_norm_through_time(x, list(norms.bn_list), True)

    assert torch.autograd.gradgradcheck(normalise, (x, *params))


def test_cumulative_average_with_uneven_counts():
    bntt = build(2, momentum=None)
    reference = copy.deepcopy(bntt)
    bntt.step_mode = "m"
    for norm in reference.bn_list:
        norm.train()
    x = torch.randn(4, 5, 3, 2, 2, dtype=torch.float64)
    bntt(x[:2])  # steps 0 and 1 counted one more time than steps 2 and 3
    reference.bn_list[0](x[0]), reference.bn_list[1](x[1])
    functional.reset_net(bntt)
    y = bntt(x)
    expected = batch_norm_through_time_reference(x, reference.bn_list)
    assert_close(y, expected, "output", rtol=1e-10, atol=1e-12)
    assert_close(buffers(bntt), buffers(reference), "running statistics", rtol=1e-10, atol=1e-12)
    assert [int(n.num_batches_tracked) for n in bntt.bn_list] == [2, 2, 1, 1]


def test_structure_and_initial_values():
    bntt = layer.BatchNormThroughTime2d(3, 4)
    assert isinstance(bntt, MemoryModule) and not isinstance(bntt, nn.modules.batchnorm._BatchNorm)
    assert bntt.T == 3 and len(bntt.bn_list) == 3 and bntt.step_mode == "s"
    assert all(isinstance(n, nn.BatchNorm2d) and n.bias is None for n in bntt.bn_list)
    keys = set(bntt.state_dict())
    assert keys == {
        f"bn_list.{t}.{k}" for t in range(3) for k in ("weight", "running_mean", "running_var", "num_batches_tracked")
    }
    assert all(torch.equal(n.weight, torch.ones(4)) and torch.equal(n.running_var, torch.ones(4)) for n in bntt.bn_list)
    plain = layer.BatchNormThroughTime1d(2, 4, affine=False, track_running_stats=False)
    assert list(plain.state_dict()) == []
    assert dict(bntt.named_memories()) == {"t": -1}


@pytest.mark.parametrize("mode", ["s", "m"])
def test_steps_beyond_T_raise_and_change_nothing(mode):
    bntt = build(2, T=3, step_mode=mode)
    x = torch.randn(3, 4, 3, 2, 2, dtype=torch.float64)
    if mode == "s":
        for step in x:
            bntt(step)
    else:
        bntt(x[:2])
    before = buffers(bntt), bntt.t
    with pytest.raises(IndexError, match=r"BatchNormThroughTime2d.*T=3") as error:
        bntt(x[0] if mode == "s" else x[:2])
    assert isinstance(error.value, ValueError)
    assert_close(buffers(bntt), before[0], "statistics after the error", rtol=0, atol=0)
    assert bntt.t == before[1]
    functional.reset_net(bntt)
    assert bntt.t == -1
    assert_close(buffers(bntt), before[0], "reset keeps the statistics", rtol=0, atol=0)


def test_two_halves_equal_one_sequence_and_single_steps():
    torch.manual_seed(0)
    whole = build(2, step_mode="m")
    halves, steps = copy.deepcopy(whole), copy.deepcopy(whole)
    steps.step_mode = "s"
    x = torch.randn(4, 5, 3, 2, 2, dtype=torch.float64)
    y = whole(x)
    assert_close(torch.cat([halves(x[:1]), halves(x[1:])]), y, "two calls", rtol=1e-10, atol=1e-12)
    assert_close(torch.stack([steps(s) for s in x]), y, "single steps", rtol=1e-10, atol=1e-12)
    assert halves.t == steps.t == whole.t == 3


@pytest.mark.parametrize("training", [True, False])
def test_empty_sequence_runs_no_step(training):
    bntt = build(2, T=3, step_mode="m").train(training)
    x = torch.randn(3, 4, 3, 2, 2, dtype=torch.float64)
    bntt(x[:1])
    before = buffers(bntt), bntt.t
    y = bntt(x[:0])
    assert y.shape == (0, 4, 3, 2, 2) and y.dtype == x.dtype
    assert bntt.t == before[1]
    assert_close(buffers(bntt), before[0], "statistics after an empty sequence", rtol=0, atol=0)
    bntt(x[1:])
    assert bntt(x[:0]).shape == (0, 4, 3, 2, 2)  # no step left, and none asked for
    assert bntt.t == 2


def test_input_errors_name_the_layer():
    bntt = layer.BatchNormThroughTime2d(4, 3, step_mode="m")
    for shape in ((4, 2, 3, 5), (4, 2, 5, 5, 5)):
        with pytest.raises(ValueError, match="BatchNormThroughTime2d"):
            bntt(torch.randn(shape))
    with pytest.raises(ValueError, match="more than one value per channel"):
        layer.BatchNormThroughTime1d(4, 3, step_mode="m")(torch.randn(4, 1, 3))
    layer.BatchNormThroughTime1d(4, 3, step_mode="m").eval()(torch.randn(4, 1, 3))
    with pytest.raises(ValueError, match="BatchNormThroughTime3d"):
        layer.BatchNormThroughTime3d(4, 3, step_mode="x")
    assert bntt.t == -1
