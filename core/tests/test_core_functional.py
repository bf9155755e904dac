import pytest
import torch
from torch import nn

from spikelayers import functional, plugins
from spikelayers.base import MemoryModule, StepModule
from spikelayers.containers import MultiStepContainer, SeqToANNContainer, StepModeContainer
from spikelayers.functional import StatefulHandler
from spikelayers.hookspecs import hookimpl


class Counter(MemoryModule):
    def __init__(self) -> None:
        super().__init__()
        self.register_memory("count", 0)

    def single_step_forward(self, x):
        self.count += 1
        return x


class ModeRecorder(StepModule, nn.Identity):
    assignments = 0

    @StepModule.step_mode.setter
    def step_mode(self, value):
        type(self).assignments += 1
        StepModule.step_mode.fset(self, value)


def test_reset_net_resets_every_memory_module():
    net = nn.Sequential(Counter(), nn.Sequential(Counter(), nn.ReLU()))
    net(torch.ones(1))
    functional.reset_net(net)
    assert [m.count for m in net.modules() if isinstance(m, Counter)] == [0, 0]


class ForeignNeuron(nn.Module):
    """A stateful module from another library, unknown to the core."""

    def __init__(self) -> None:
        super().__init__()
        self.state = 5
        self.graph = "attached"


class ForeignPlugin:
    @hookimpl
    def spikelayers_stateful_handlers(self):
        def reset(module):
            module.state = 0

        def detach(module):
            module.graph = "detached"

        return [StatefulHandler((ForeignNeuron,), reset, detach)]


def test_plugins_teach_reset_net_and_detach_net_foreign_modules(clean_registry):
    plugins.register_plugin(ForeignPlugin(), name="foreign")
    net = nn.Sequential(Counter(), ForeignNeuron())
    net[0](torch.ones(1))
    functional.detach_net(net)
    assert net[1].graph == "detached"
    functional.reset_net(net)
    assert net[0].count == 0 and net[1].state == 0


def test_set_step_mode_leaves_children_of_keepers_alone():
    inner = Counter()
    keeper = StepModeContainer(True, inner)
    plain = Counter()
    net = nn.Sequential(keeper, plain, SeqToANNContainer(nn.Linear(2, 2)), MultiStepContainer(Counter()))
    functional.set_step_mode(net, "m")
    assert keeper.step_mode == "m" and plain.step_mode == "m"
    assert inner.step_mode == "s"
    assert net[3][0].step_mode == "s"


def test_set_step_mode_visits_each_module_once_on_a_large_network():
    ModeRecorder.assignments = 0
    blocks = [nn.Sequential(*[ModeRecorder() for _ in range(9)]) for _ in range(200)]
    net = nn.Sequential(*blocks)
    assert len(list(net.modules())) == 2001
    functional.set_step_mode(net, "m")
    assert ModeRecorder.assignments == 1800
    assert all(m.step_mode == "m" for m in net.modules() if isinstance(m, ModeRecorder))


def test_set_step_mode_rejects_a_mode_a_module_does_not_support():
    with pytest.raises(ValueError, match="MultiStepContainer"):
        functional.set_step_mode(nn.Sequential(MultiStepContainer(nn.ReLU())), "s")


def test_set_backend_sets_supporting_modules_and_rejects_unknown():
    net = nn.Sequential(Counter(), Counter())
    functional.set_backend(net, "torch")
    with pytest.raises(ValueError, match="triton"):
        functional.set_backend(net, "triton")


def test_multi_step_forward_and_seq_to_ann_forward():
    x_seq = torch.randn(4, 3, 5)
    linear = nn.Linear(5, 2)
    folded = functional.seq_to_ann_forward(x_seq, linear)
    looped = functional.multi_step_forward(x_seq, linear)
    torch.testing.assert_close(folded, looped)
    assert folded.shape == (4, 3, 2)
    with pytest.raises(ValueError, match=r"\[T, N, \*\]"):
        functional.seq_to_ann_forward(torch.randn(3), linear)


@pytest.mark.parametrize("steps", [0, 1, 3, 7])
def test_delay_shifts_with_zeros(steps):
    x_seq = torch.arange(1.0, 6.0).reshape(5, 1)
    y = functional.delay(x_seq, steps)
    expected = torch.cat([torch.zeros(min(steps, 5), 1), x_seq[: max(5 - steps, 0)]])
    assert torch.equal(y, expected)


def test_delay_rejects_bad_steps():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="non-negative int"):
            functional.delay(torch.zeros(3, 1), bad)
