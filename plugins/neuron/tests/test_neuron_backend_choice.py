"""The kernel registry chooses the neuron's kernel, in both step modes, and says why not."""

import pytest
import torch

from spikelayers import functional, kernels
from spikelayers.errors import BackendUnavailableError
from spikelayers_neuron.node import LIFNode, ParametricLIFNode
from spikelayers_neuron.surrogate import Sigmoid


class Custom(torch.nn.Module):
    """A surrogate without a Triton derivative."""

    spiking = True

    def forward(self, x):
        return Sigmoid()(x)


@pytest.mark.parametrize("mode", ["s", "m"])
def test_auto_backend_is_settable_and_gives_the_torch_answer_on_the_cpu(mode, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    x = torch.randn(4, 3, 5)
    auto, plain = LIFNode(step_mode=mode, backend="auto"), LIFNode(step_mode=mode)
    run = (lambda node: node(x)) if mode == "m" else (lambda node: torch.stack([node(step) for step in x]))
    assert torch.equal(run(auto), run(plain))
    assert auto.backend == "auto"


def test_set_backend_auto_reaches_every_neuron():
    net = torch.nn.Sequential(LIFNode(), torch.nn.Linear(3, 3), ParametricLIFNode())
    functional.set_backend(net, "auto")
    assert net[0].backend == net[2].backend == "auto"


@pytest.mark.parametrize("mode", ["s", "m"])
def test_forced_triton_with_a_custom_surrogate_raises_before_any_work(mode, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    node = LIFNode(surrogate_function=Custom(), step_mode=mode, backend="triton")
    x = torch.randn(2, 3, 4) if mode == "m" else torch.randn(3, 4)
    reason = "Custom has no Triton derivative" if kernels.triton_installed() else "triton is not installed"
    with pytest.raises(BackendUnavailableError, match=rf"neuron\.multi_step.*'triton'.*{reason}"):
        node(x)
    assert isinstance(node.v, float), "the failed call changed the state"


def test_auto_with_a_custom_surrogate_takes_torch_even_where_triton_runs(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    chosen = kernels.select_backend("neuron.multi_step", "auto", "cpu", surrogate=Custom, spiking=True)
    assert chosen == "torch"
    if kernels.triton_installed():
        assert kernels.select_backend("neuron.multi_step", "auto", "cpu", surrogate=Sigmoid, spiking=True) == "triton"
