"""The time-last containers: behaviour, child rules, and SpikingJelly 2.0.0's results."""

from pathlib import Path

import pytest
import torch
from torch import nn

from spikelayers import functional, layer
from spikelayers.base import MemoryModule, MultiStepModule, StepModule
from spikelayers.testing import assert_close, check_signature, parametrize_with_checks
from spikelayers.testing.reference_fixtures import (
    check_against_fixture,
    check_fixtures,
    load_fixtures,
    record_with_script,
)
from spikelayers.tlast import TLastMultiStepContainer, TLastSeqToANNContainer
from spikelayers.tlast_cases import conformance_cases

FIXTURES = load_fixtures(Path(__file__).parent / "fixtures" / "sj2.pt")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_sj2_fixtures.py"
CONTAINERS = (TLastMultiStepContainer, TLastSeqToANNContainer)


class Accumulator(MemoryModule):
    """A stateful single-step child: adds its input to a running sum and returns the sum."""

    def __init__(self) -> None:
        super().__init__()
        self.register_memory("total", 0.0)

    def single_step_forward(self, x):
        self.total = self.total + x
        return self.total


class Doubler(StepModule, nn.Module):
    """A stateless child that runs in either step mode."""

    def forward(self, x):
        return 2 * x


def children(recipe: str) -> list[nn.Module]:
    made = []
    for item in recipe.split(","):
        kind, *numbers = item.split("-")
        sizes = [int(n) for n in numbers]
        made.append({"linear": nn.Linear, "batchnorm1d": nn.BatchNorm1d, "flatten": nn.Flatten}[kind](*sizes))
    return made


def build(fixture):
    return getattr(layer, fixture["class"])(*children(fixture["children"]))


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_matches_recorded_spikingjelly(name):
    check_against_fixture(build(FIXTURES[name]), FIXTURES[name], name)


def test_matches_live_spikingjelly():
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import layer as sj

    check_fixtures(build, record_with_script(SCRIPT, "container_cases", sj), " (live)")


@pytest.mark.parametrize("container", CONTAINERS)
def test_class_facts_and_step_mode(container):
    c = container(nn.Linear(3, 2))
    assert isinstance(c, nn.Sequential) and isinstance(c, MultiStepModule)
    assert c.step_mode == "m"
    with pytest.raises(ValueError, match=container.__name__):
        c.step_mode = "s"
    child = layer.MultiStepContainer(nn.Identity())
    with pytest.raises(ValueError, match=f"{container.__name__}.*step_mode='m'"):
        container(nn.Linear(3, 2), child)
    inner = Doubler()
    wrapped = container(nn.Identity(), inner)
    functional.set_step_mode(wrapped, "m")
    assert inner.step_mode == "s"
    inner.step_mode = "m"
    with pytest.raises(ValueError, match=f"{container.__name__}.*Doubler"):
        container(inner)
    assert list(wrapped.state_dict()) == []
    assert list(container(nn.Linear(3, 2)).state_dict()) == ["0.weight", "0.bias"]


@pytest.mark.parametrize("container", CONTAINERS)
def test_each_step_is_the_last_dim_slice(container):
    torch.manual_seed(0)
    linear = nn.Linear(3, 4).double()
    x = torch.randn(5, 3, 6, dtype=torch.float64)
    y = container(linear, nn.Tanh())(x)
    assert y.shape == (5, 4, 6)
    for t in range(6):
        assert_close(y[..., t], torch.tanh(linear(x[..., t])), f"{container.__name__} step {t}", rtol=1e-12)


@pytest.mark.parametrize("container", CONTAINERS)
def test_one_dimensional_input_has_scalar_steps(container):
    x = torch.arange(4.0)
    assert torch.equal(container(nn.ReLU())(x - 1.5), torch.relu(x - 1.5))
    with pytest.raises(ValueError, match=container.__name__):
        container(nn.ReLU())(torch.tensor(1.0))


def test_multi_step_state_carries_across_steps_and_calls():
    x = torch.randn(2, 3, 5)
    whole = TLastMultiStepContainer(Accumulator())
    halves = TLastMultiStepContainer(Accumulator())
    expected = x.cumsum(-1)
    assert_close(whole(x), expected, "running sum over T", rtol=1e-6)
    y = torch.cat([halves(x[..., :2]), halves(x[..., 2:])], dim=-1)
    assert_close(y, expected, "two calls vs one", rtol=1e-6)
    functional.reset_net(halves)
    assert halves[0].total == 0.0


def test_multi_step_batch_norm_updates_once_per_step():
    bn = nn.BatchNorm1d(3)
    TLastMultiStepContainer(bn)(torch.randn(4, 3, 5))
    assert int(bn.num_batches_tracked) == 5


@pytest.mark.parametrize("module", [nn.BatchNorm1d(3), nn.Dropout(0.5)])
def test_seq_to_ann_rejects_buffer_updates_and_randomness_in_training(module):
    c = TLastSeqToANNContainer(module)
    x = torch.randn(4, 3, 5)
    with pytest.raises(RuntimeError, match="TLastSeqToANNContainer"):
        c(x)
    c.eval()
    y = c(x)
    assert y.shape == x.shape
    if isinstance(module, nn.Dropout):
        assert torch.equal(y, x)


@parametrize_with_checks(conformance_cases())
def test_tlast_conforms(case, check):
    check(case)


def test_seq_to_ann_rejects_stateful_children():
    with pytest.raises(ValueError, match=r"TLastSeqToANNContainer.*Accumulator"):
        TLastSeqToANNContainer(nn.Linear(3, 3), Accumulator())


@pytest.mark.parametrize("container", CONTAINERS)
def test_signature_matches_spikingjelly_2(container):
    check_signature(container)
