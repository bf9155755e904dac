import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.containers import MultiStepContainer, PrintShapeModule, SeqToANNContainer, StepModeContainer
from spikelayers.testing import LayerCase, parametrize_with_checks


class Integrator(MemoryModule):
    def __init__(self) -> None:
        super().__init__()
        self.register_memory("v", 0.0)

    def single_step_forward(self, x):
        self.v = self.memory_like("v", x) * 0.5 + x
        return self.v


def reference_integrate(x_seq):
    v, out = torch.zeros_like(x_seq[0]), []
    for x in x_seq:
        v = v * 0.5 + x
        out.append(v)
    return torch.stack(out)


def test_multi_step_container_runs_single_step_children_over_time():
    x_seq = torch.randn(5, 2, 3)
    container = MultiStepContainer(Integrator())
    torch.testing.assert_close(container(x_seq), reference_integrate(x_seq))


def test_seq_to_ann_container_folds_time_into_batch():
    x_seq = torch.randn(5, 2, 3, 8, 8)
    conv = nn.Conv2d(3, 4, 3)
    container = SeqToANNContainer(conv)
    torch.testing.assert_close(container(x_seq), torch.stack([conv(x) for x in x_seq]))


def test_step_mode_container_is_stateful_or_folded():
    x_seq = torch.randn(5, 2, 3)
    stateful = StepModeContainer(True, Integrator())
    stateful.step_mode = "m"
    torch.testing.assert_close(stateful(x_seq), reference_integrate(x_seq))
    linear = nn.Linear(3, 2)
    folded = StepModeContainer(False, linear)
    folded.step_mode = "m"
    torch.testing.assert_close(folded(x_seq), linear(x_seq))
    single = StepModeContainer(True, Integrator())
    torch.testing.assert_close(single(x_seq[0]), x_seq[0])


def test_print_shape_module_prints_and_passes_through(capsys):
    x = torch.zeros(2, 3)
    assert PrintShapeModule("here")(x) is x
    assert capsys.readouterr().out.strip() == "here (2, 3)"


@parametrize_with_checks(
    [
        LayerCase(
            lambda: StepModeContainer(True, Integrator()), (2, 3), name="StepModeContainer-stateful", rank_checks=()
        ),
        LayerCase(
            lambda: StepModeContainer(False, nn.Linear(3, 2)), (2, 3), name="StepModeContainer-folded", rank_checks=()
        ),
        LayerCase(lambda: MultiStepContainer(Integrator()), (2, 3), rank_checks=()),
        LayerCase(lambda: SeqToANNContainer(nn.Linear(3, 2)), (2, 3), rank_checks=()),
    ]
)
def test_containers_conform(case, check):
    check(case)
