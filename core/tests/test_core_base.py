import copy
import pickle

import pytest
import torch
from torch import nn

from spikelayers.base import MemoryModule, MultiStepModule, SingleStepModule, StepModule
from spikelayers.errors import StateShapeError


class Accumulator(MemoryModule):
    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(2.0))
        self.register_memory("total", 0.0)
        self.register_memory("seen", torch.zeros(()))
        self.step_mode = step_mode

    def single_step_forward(self, x):
        self.total = self.memory_like("total", x) + self.gain * x
        self.seen = self.seen + 1
        return self.total


def test_memories_are_not_in_state_dict_before_or_after_forward():
    layer = Accumulator()
    before = list(layer.state_dict())
    layer(torch.ones(2, 3))
    assert list(layer.state_dict()) == before == ["gain"]


def test_memory_reads_and_writes_as_attribute_and_reset_restores():
    layer = Accumulator()
    layer(torch.ones(2, 3))
    layer(torch.ones(2, 3))
    assert torch.equal(layer.total, torch.full((2, 3), 4.0))
    assert layer.seen.item() == 2
    layer.reset()
    assert layer.total == 0.0
    assert layer.seen.item() == 0


def test_reset_drops_the_autograd_graph():
    layer = Accumulator()
    layer(torch.ones(2, 3, requires_grad=True))
    assert layer.total.grad_fn is not None
    layer.reset()
    layer(torch.ones(2, 3))
    assert layer.seen.grad_fn is None


def test_tensor_initial_value_is_not_shared_with_the_memory():
    layer = Accumulator()
    layer.seen.add_(5)
    layer.reset()
    assert layer.seen.item() == 0


def test_detach_keeps_values_and_cuts_graph():
    layer = Accumulator()
    layer(torch.ones(2, 3, requires_grad=True))
    value = layer.total.clone()
    layer.detach()
    assert layer.total.grad_fn is None
    assert torch.equal(layer.total, value)


def test_named_memories_lists_every_memory():
    assert [name for name, _ in Accumulator().named_memories()] == ["total", "seen"]


def test_memory_shape_change_without_reset_names_reset_net():
    layer = Accumulator()
    layer(torch.ones(2, 3))
    with pytest.raises(StateShapeError, match=r"Accumulator.*total.*reset_net"):
        layer(torch.ones(4, 3))


def test_register_memory_rejects_duplicates_and_attribute_clashes():
    layer = Accumulator()
    with pytest.raises(ValueError, match="already registered"):
        layer.register_memory("total", 1.0)
    with pytest.raises(ValueError, match="attribute"):
        layer.register_memory("gain", 1.0)


def test_step_mode_validation_names_layer_and_supported_modes():
    layer = Accumulator()
    with pytest.raises(ValueError, match=r"Accumulator.*\('s', 'm'\).*'x'"):
        layer.step_mode = "x"

    class OnlyMulti(MultiStepModule, nn.Module):
        pass

    with pytest.raises(ValueError, match=r"OnlyMulti.*\('m',\)"):
        OnlyMulti().step_mode = "s"
    assert OnlyMulti().step_mode == "m"

    class OnlySingle(SingleStepModule, nn.Module):
        pass

    assert OnlySingle().supported_step_mode() == ("s",)


def test_backend_validation():
    layer = Accumulator()
    assert layer.backend == "torch"
    with pytest.raises(ValueError, match=r"Accumulator.*backend.*'cuda'"):
        layer.backend = "cuda"


def test_deepcopy_and_pickle_keep_memory_values_without_graph():
    layer = Accumulator()
    layer(torch.ones(2, 3, requires_grad=True))
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert torch.equal(clone.total, layer.total.detach())
        assert clone.total.grad_fn is None
        clone.reset()
        assert clone.total == 0.0
    assert layer.total.grad_fn is not None


def test_step_module_mixin_adds_step_mode_to_repr():
    class Wrapped(StepModule, nn.Identity):
        pass

    module = Wrapped()
    module.step_mode = "m"
    assert "step_mode=m" in repr(module)
