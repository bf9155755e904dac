"""Every layer with kernels: ``'auto'`` is a backend, and a forced backend that cannot run
raises one clear error before any work."""

import pytest
import torch

from spikelayers import layer, neuron
from spikelayers.errors import BackendUnavailableError
from spikelayers.testing.checks import snapshot_memories

LAYERS = {
    "LIFNode": (lambda: neuron.LIFNode(step_mode="m"), (3, 2, 4)),
    "ParametricLIFNode": (lambda: neuron.ParametricLIFNode(step_mode="m"), (3, 2, 4)),
    "SynapseFilter": (lambda: layer.SynapseFilter(tau=3.0, learnable=True, step_mode="m"), (3, 2, 4)),
    "NeuNorm": (lambda: layer.NeuNorm(2, 3, 3, step_mode="m"), (3, 2, 2, 3, 3)),
    "Dropout": (lambda: layer.Dropout(0.5, step_mode="m"), (3, 2, 4)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_forced_triton_without_cuda_raises_and_changes_no_state(name, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    factory, shape = LAYERS[name]
    module = factory()
    module.backend = "triton"
    before = snapshot_memories(module)
    with pytest.raises(BackendUnavailableError, match=r"'triton'.*(needs CUDA tensors|triton is not installed)"):
        module(torch.randn(shape))
    after = snapshot_memories(module)
    assert after.keys() == before.keys()
    assert all(
        torch.equal(after[k], before[k]) if isinstance(before[k], torch.Tensor) else after[k] == before[k]
        for k in before
    )


@pytest.mark.parametrize("name", [n for n in LAYERS if n != "Dropout"])
def test_auto_gives_the_torch_answer_on_the_cpu(name, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    factory, shape = LAYERS[name]
    torch.manual_seed(0)
    auto = factory()
    torch.manual_seed(0)
    plain = factory()
    auto.backend = "auto"
    x = torch.randn(shape)
    assert torch.equal(auto(x), plain(x))
