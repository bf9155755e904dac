"""The Spikformer example trains in multi-step mode, eagerly and under torch.compile."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "spikformer" / "spikformer_block.py"


def load_example():
    spec = importlib.util.spec_from_file_location("spikformer_block", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trains_a_few_steps():
    example = load_example()
    torch.manual_seed(0)
    initial = example.TinySpikformer().state_dict()
    model, losses = example.train(steps=3)
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    changed = [name for name, value in model.state_dict().items() if not torch.equal(value, initial[name])]
    assert "block.attention.qkv_conv_bn.0.weight" in changed and "head.weight" in changed
    assert model.block.attention.qkv_lif.step_mode == "m"
    tokens = model.embed(torch.rand(4, 2, 3, 16, 16))
    assert tokens.shape == (4, 2, 32, 16) and set(tokens.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.slow
def test_compiled_training_matches_eager():
    example = load_example()
    _, eager = example.train(steps=2)
    torch._dynamo.reset()
    _, compiled = example.train(steps=2, compile_backend="aot_eager")
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-5)
