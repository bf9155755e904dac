"""Behaviour of the recurrent containers against a plain loop of the documented formulas."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from spikelayers import functional
from spikelayers.base import MemoryModule
from spikelayers.errors import StateShapeError
from spikelayers.testing import assert_close, check_signature
from spikelayers_recurrent.element_wise import ElementWiseRecurrentContainer
from spikelayers_recurrent.linear import LinearRecurrentContainer


class LeakyTanh(MemoryModule):
    """A small stateful test neuron: ``v <- 0.5 v + x``, output ``tanh(v)``; memory ``v``."""

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.step_mode = step_mode
        self.register_memory("v", 0.0)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.v = 0.5 * self.memory_like("v", x) + x
        return torch.tanh(self.v)


def asymmetric(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """An element-wise function whose result tells its arguments apart."""
    return x - 0.75 * y


def element_wise_reference(x_seq: torch.Tensor, f) -> torch.Tensor:
    """``y[t] = g(f(x[t], y[t-1]))`` with ``g`` the LeakyTanh dynamics, written out."""
    v = torch.zeros_like(x_seq[0])
    y = torch.zeros_like(x_seq[0])
    outputs = []
    for x in x_seq:
        v = 0.5 * v + f(x, y)
        y = torch.tanh(v)
        outputs.append(y)
    return torch.stack(outputs)


def linear_reference(x_seq: torch.Tensor, rc: nn.Linear, inner: nn.Linear, out_features: int) -> torch.Tensor:
    """``y[t] = LeakyTanh(inner(rc(cat(x[t], y[t-1]))))`` written out with explicit weights."""
    y = torch.zeros(*x_seq.shape[1:-1], out_features, dtype=x_seq.dtype)
    v = torch.zeros_like(y)
    outputs = []
    for x in x_seq:
        i = torch.cat((x, y), dim=-1) @ rc.weight.T + rc.bias
        v = 0.5 * v + (i @ inner.weight.T + inner.bias)
        y = torch.tanh(v)
        outputs.append(y)
    return torch.stack(outputs)


def test_signatures_match_the_reference():
    check_signature(ElementWiseRecurrentContainer)
    check_signature(LinearRecurrentContainer)


@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize("shape", [(3,), (2, 5), (2, 3, 4)])
def test_element_wise_follows_the_formula_in_documented_argument_order(step_mode, shape):
    torch.manual_seed(0)
    x_seq = torch.randn(6, *shape, dtype=torch.float64, requires_grad=True)
    net = ElementWiseRecurrentContainer(LeakyTanh(), asymmetric, step_mode=step_mode)
    y = net(x_seq) if step_mode == "m" else torch.stack([net(x) for x in x_seq])
    x_ref = x_seq.detach().clone().requires_grad_(True)
    expected = element_wise_reference(x_ref, asymmetric)
    assert_close(y, expected, "output")
    swapped = element_wise_reference(x_ref.detach(), lambda x, y: asymmetric(y, x))
    assert not torch.allclose(y, swapped), "arguments of element_wise_function were passed (y, x)"
    weight = torch.randn_like(y)
    (y * weight).sum().backward()
    (expected * weight).sum().backward()
    assert_close(x_seq.grad, x_ref.grad, "input gradient")
    assert_close(net.y, expected[-1], "final memory y")


def test_element_wise_zero_dim_steps_like_the_reference_example():
    net = ElementWiseRecurrentContainer(LeakyTanh(), lambda x, y: x + y)
    x = torch.zeros(5)
    x[0] = 1.5
    outputs = torch.stack([net(x[t]) for t in range(5)])
    assert_close(outputs, element_wise_reference(x, lambda a, b: a + b), "0-d steps")


@pytest.mark.parametrize("step_mode", ["s", "m"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(3,), (2, 3)])
def test_linear_follows_the_formula(step_mode, bias, lead):
    torch.manual_seed(1)
    in_features, out_features = 5, 3
    inner = nn.Linear(in_features, out_features).double()
    net = LinearRecurrentContainer(
        nn.Sequential(inner, LeakyTanh()), in_features, out_features, bias=bias, step_mode=step_mode
    ).double()
    assert net.rc.in_features == in_features + out_features
    assert net.rc.out_features == in_features
    assert (net.rc.bias is not None) == bias
    x_seq = torch.randn(5, *lead, in_features, dtype=torch.float64, requires_grad=True)
    y = net(x_seq) if step_mode == "m" else torch.stack([net(x) for x in x_seq])
    assert y.shape == (5, *lead, out_features)
    rc = copy.deepcopy(net.rc)
    if not bias:
        rc.bias = nn.Parameter(torch.zeros(in_features, dtype=torch.float64))
    inner_ref = copy.deepcopy(inner)
    x_ref = x_seq.detach().clone().requires_grad_(True)
    expected = linear_reference(x_ref, rc, inner_ref, out_features)
    assert_close(y, expected, "output")
    weight = torch.randn_like(y)
    (y * weight).sum().backward()
    (expected * weight).sum().backward()
    assert_close(x_seq.grad, x_ref.grad, "input gradient")
    assert_close(net.rc.weight.grad, rc.weight.grad, "rc.weight gradient")
    assert_close(inner.weight.grad, inner_ref.weight.grad, "sub_module weight gradient")
    if bias:
        assert_close(net.rc.bias.grad, rc.bias.grad, "rc.bias gradient")


def test_state_dict_keys_follow_the_reference_names():
    net = LinearRecurrentContainer(nn.Linear(4, 2), 4, 2)
    assert set(net.state_dict()) == {"sub_module.weight", "sub_module.bias", "rc.weight", "rc.bias"}


@pytest.mark.parametrize(
    "build",
    [
        lambda sub: ElementWiseRecurrentContainer(sub, torch.add),
        lambda sub: LinearRecurrentContainer(sub, 4, 4),
    ],
    ids=["element_wise", "linear"],
)
def test_set_step_mode_keeps_the_sub_module_single_step(build):
    inner = LeakyTanh()
    net = nn.Sequential(build(nn.Sequential(inner)))
    functional.set_step_mode(net, "m")
    assert net[0].step_mode == "m"
    assert inner.step_mode == "s"
    y = net(torch.randn(3, 2, 4))
    assert y.shape == (3, 2, 4)
    functional.set_step_mode(net, "s")
    assert net[0].step_mode == "s" and inner.step_mode == "s"


@pytest.mark.parametrize("nested", [False, True])
def test_a_multi_step_sub_module_is_rejected_at_construction(nested):
    inner = LeakyTanh(step_mode="m")
    for build in (
        lambda m: ElementWiseRecurrentContainer(m, torch.add, step_mode="m"),
        lambda m: LinearRecurrentContainer(m, 4, 4, step_mode="m"),
    ):
        with pytest.raises(ValueError, match=r"Container: child 0 LeakyTanh.*step_mode='m'.*step by step"):
            build(nn.Sequential(nn.Identity(), inner) if nested else inner)
    assert inner.step_mode == "m"


@pytest.mark.parametrize(
    "build",
    [
        lambda m: ElementWiseRecurrentContainer(m, torch.add),
        lambda m: LinearRecurrentContainer(nn.Sequential(nn.Linear(4, 4), m), 4, 4),
    ],
)
def test_empty_sequence_gives_an_empty_output_and_keeps_the_state(build):
    inner = LeakyTanh()
    net = build(inner)
    functional.set_step_mode(net, "m")
    x = torch.randn(3, 2, 4)
    first = net(x[:2])
    state = (net.y.clone(), inner.v.clone())
    empty = net(x[:0])
    assert empty.shape == (0, 2, 4)
    assert torch.equal(net.y, state[0]) and torch.equal(inner.v, state[1])
    whole = build(LeakyTanh())
    whole.load_state_dict(net.state_dict())
    functional.set_step_mode(whole, "m")
    assert_close(torch.cat((first, net(x[2:]))), whole(x), "sequence with an empty call in between")


@pytest.mark.parametrize("via", ["reset_net", "reset"])
def test_reset_clears_the_container_and_the_sub_module(via):
    inner = LeakyTanh()
    net = LinearRecurrentContainer(nn.Sequential(nn.Linear(4, 3), inner), 4, 3, step_mode="m")
    x = torch.randn(4, 2, 4)
    first = net(x)
    assert isinstance(net.y, torch.Tensor) and isinstance(inner.v, torch.Tensor)
    functional.reset_net(net) if via == "reset_net" else net.reset()
    assert net.y is None
    assert inner.v == 0.0
    assert_close(net(x), first, "output after reset")


def test_detach_reaches_the_sub_module():
    inner = LeakyTanh()
    net = ElementWiseRecurrentContainer(inner, torch.add, step_mode="m")
    net(torch.randn(3, 2, 4, requires_grad=True))
    assert net.y.grad_fn is not None and inner.v.grad_fn is not None
    net.detach()
    assert net.y.grad_fn is None and inner.v.grad_fn is None


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_batch_size_change_without_reset_names_reset_net(step_mode):
    for net, features in (
        (ElementWiseRecurrentContainer(LeakyTanh(), torch.add, step_mode=step_mode), 4),
        (LinearRecurrentContainer(nn.Linear(4, 2), 4, 2, step_mode=step_mode), 4),
    ):
        first = torch.randn(2, 3, features) if step_mode == "m" else torch.randn(3, features)
        second = torch.randn(2, 5, features) if step_mode == "m" else torch.randn(5, features)
        net(first)
        with pytest.raises(StateShapeError, match="reset_net"):
            net(second)
        functional.reset_net(net)
        assert net(second).shape[:-1] == second.shape[:-1]


def test_linear_rejects_wrong_features_and_rank():
    net = LinearRecurrentContainer(nn.Linear(4, 2), 4, 2)
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer.*in_features=4.*\(3, 5\)"):
        net(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer.*\[N, \*, in_features\]"):
        net(torch.randn(4))
    net.step_mode = "m"
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer.*\[T, N, \*, in_features\]"):
        net(torch.randn(3, 4))
    with pytest.raises(ValueError, match="positive int"):
        LinearRecurrentContainer(nn.Linear(4, 2), 0, 2)


def test_sub_module_output_shape_is_checked():
    net = LinearRecurrentContainer(nn.Linear(4, 3), 4, 2)
    with pytest.raises(ValueError, match=r"LinearRecurrentContainer: sub_module must return.*\(3, 2\).*\(3, 3\)"):
        net(torch.randn(3, 4))
    net = ElementWiseRecurrentContainer(nn.Linear(4, 3), torch.add)
    with pytest.raises(ValueError, match="ElementWiseRecurrentContainer: sub_module must return"):
        net(torch.randn(3, 4))


def test_unsupported_step_mode_names_the_class():
    with pytest.raises(ValueError, match="ElementWiseRecurrentContainer"):
        ElementWiseRecurrentContainer(nn.Identity(), torch.add, step_mode="x")


def test_feature_counts_get_the_core_message():
    with pytest.raises(ValueError, match=r"^LinearRecurrentContainer: out_features must be a positive int, got True$"):
        LinearRecurrentContainer(nn.Identity(), 3, True)
