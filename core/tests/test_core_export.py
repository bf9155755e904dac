"""spikelayers.export: torch.export with explicit state, its errors and the conformance check."""

import pytest
import torch
from torch import nn

from spikelayers import cli, functional
from spikelayers.base import MemoryModule
from spikelayers.export import ExportError, export, initial_memories
from spikelayers.testing import LayerCase, assert_close
from spikelayers.testing.export import check_export, check_export_error, run_exported_steps


class Leaky(MemoryModule):
    """``v = 0.5 * v + x * weight``, output ``v``; memory ``v`` starts at ``rest``."""

    def __init__(self, features: int, rest: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, features))
        self.register_memory("v", rest)

    def single_step_forward(self, x):
        self.v = 0.5 * self.memory_like("v", x) + x * self.weight
        return self.v


class Counter(MemoryModule):
    """Counts steps in a Python int."""

    def __init__(self) -> None:
        super().__init__()
        self.register_memory("steps", 0)

    def single_step_forward(self, x):
        self.steps += 1
        return x * self.steps


class FirstStepNoise(MemoryModule):
    """Draws a noise tensor on the first step (memory starts as None) and keeps it."""

    def __init__(self) -> None:
        super().__init__()
        self.register_memory("noise", None)

    def single_step_forward(self, x):
        if self.noise is None:
            self.noise = torch.rand_like(x) + 1.0
        return x * self.noise


class DataDependent(MemoryModule):
    def single_step_forward(self, x):
        if x.sum() > 0:  # a branch on a value: not traceable
            return x
        return -x


def network():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), Leaky(4, rest=0.5), nn.Linear(4, 2), Leaky(2))


def test_initial_memories_are_the_reset_state_shaped_for_the_input():
    net = network()
    net(torch.ones(7, 3))  # a network mid-sequence exports from its reset state
    initial = initial_memories(net, torch.zeros(5, 3))
    assert list(initial) == ["1.v", "3.v"]
    assert torch.equal(initial["1.v"], torch.full((5, 4), 0.5))
    assert torch.equal(initial["3.v"], torch.zeros(5, 2))
    assert net[1].v.shape == (7, 4)  # untouched


def test_single_step_program_streams_like_the_stateful_network():
    net = network()
    x = torch.randn(6, 5, 3)
    program = export(net, x[0], "s")
    assert program.spikelayers_signature.input_names == ["input", "1.v", "3.v"]
    assert program.spikelayers_signature.output_names == ["output", "1.v.next", "3.v.next"]
    outputs, final = run_exported_steps(program, x)
    with torch.no_grad():
        expected = torch.stack([net(x_t) for x_t in x])
    assert_close(outputs, [expected], "exported steps")
    assert_close(final["3.v"], net[3].v, "final memory")


def test_multi_step_program_maps_a_sequence_from_the_initial_state():
    net = network()
    functional.set_step_mode(net, "m")
    x = torch.randn(4, 2, 3)
    program = export(net, x, "m")
    assert program.spikelayers_signature.memory_names == ()
    with torch.no_grad():
        assert_close(program.module()(x), net(x), "whole sequence")


def test_a_step_counter_cannot_be_exported_as_state():
    net = nn.Sequential(nn.Linear(3, 3), Counter())
    with pytest.raises(
        ExportError, match=r"Counter '1' cannot be exported with explicit state: memory 'steps' changes"
    ):
        export(net, torch.zeros(2, 3), "s")


def test_a_memory_drawn_on_the_first_step_cannot_be_exported_as_state():
    with pytest.raises(ExportError, match=r"FirstStepNoise .* memory 'noise' starts as None"):
        initial_memories(FirstStepNoise(), torch.zeros(2, 3))


def test_a_layer_that_cannot_be_traced_is_named_in_the_error():
    net = nn.Sequential(nn.Linear(3, 3), DataDependent())
    with pytest.raises(ExportError, match=r"DataDependent '1' cannot be exported with torch.export"):
        export(net, torch.zeros(2, 3), "m", state=False)


def test_bad_step_mode_is_rejected():
    with pytest.raises(ExportError, match="step_mode must be 's' or 'm', got 'x'"):
        export(network(), torch.zeros(2, 3), "x")


def test_conformance_check_passes_a_good_layer_and_catches_a_bad_one():
    check_export(LayerCase(lambda: Leaky(3), (2, 3), T=4), "s")
    check_export(LayerCase(lambda: Leaky(3), (2, 3), T=4), "m")
    check_export_error(LayerCase(Counter, (2, 3)), "s", "memory 'steps' changes")
    with pytest.raises(AssertionError, match="exported, but an ExportError was expected"):
        check_export_error(LayerCase(lambda: Leaky(3), (2, 3)), "s", "anything")


def test_export_command_writes_a_torch_export_program(tmp_path, capsys):
    torch.save(network(), tmp_path / "net.pt")
    out = tmp_path / "net.pt2"
    assert cli.main(["export", "--format", "pt2", str(tmp_path / "net.pt"), str(out), "--input-shape", "5,3"]) == 0
    assert "inputs input, 1.v, 3.v" in capsys.readouterr().out
    loaded = torch.export.load(out).module()
    y, v1, v3 = loaded(torch.ones(5, 3), torch.full((5, 4), 0.5), torch.zeros(5, 2))
    net = network()
    with torch.no_grad():
        assert_close(y, net(torch.ones(5, 3)), "loaded program, output")
    assert_close([v1, v3], [net[1].v, net[3].v], "loaded program, new memories")


def test_export_command_rejects_a_bad_shape(tmp_path, capsys):
    torch.save(network(), tmp_path / "net.pt")
    assert cli.main(["export", str(tmp_path / "net.pt"), str(tmp_path / "m.onnx"), "--input-shape", "5,0"]) == 1
    assert "--input-shape must be comma-separated positive ints, got '5,0'" in capsys.readouterr().err
