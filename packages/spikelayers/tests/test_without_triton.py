"""Triton is optional: every layer imports and runs without it, and asking for the triton
backend where it cannot run is a clear error."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from spikelayers import functional, layer, neuron
from spikelayers.errors import BackendUnavailableError

# Runs in a fresh interpreter in which ``import triton`` fails, as on a machine without it.
WITHOUT_TRITON = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoTriton(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "triton" or name.startswith("triton."):
                raise ImportError("triton is blocked for this test")
            return None

    sys.meta_path.insert(0, NoTriton())
    import torch
    from spikelayers import functional, layer, neuron
    from spikelayers.errors import BackendUnavailableError
    from spikelayers.testing import installed_cases, run_sequence

    for case in installed_cases():
        for mode in case.modes():
            net = case.build_in_mode(mode)
            net.train(case.train)
            x = case.sequence().requires_grad_(case.input_requires_grad)
            outputs = [out for out in run_sequence(net, x, mode) if out.requires_grad]
            if outputs:
                sum(out.float().sum() for out in outputs).backward()
    assert "triton" not in sys.modules, "a plugin imported triton"

    lif = neuron.LIFNode(step_mode="m")
    functional.set_backend(lif, "triton")
    try:
        lif(torch.rand(2, 3))
    except BackendUnavailableError as error:
        assert "triton is not installed" in str(error), error
    else:
        raise AssertionError("backend='triton' without triton did not raise")
    print("ran", len(installed_cases()), "cases")
    """
)


def test_every_layer_runs_without_triton():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    result = subprocess.run([sys.executable, "-c", WITHOUT_TRITON], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ran ")


@pytest.mark.parametrize(
    "build",
    [
        lambda: neuron.LIFNode(step_mode="m"),
        lambda: layer.SynapseFilter(tau=2.0, step_mode="m"),
        lambda: layer.NeuNorm(3, 2, 2, step_mode="m"),
        lambda: layer.Dropout(0.5, step_mode="m"),
    ],
    ids=["LIFNode", "SynapseFilter", "NeuNorm", "Dropout"],
)
def test_triton_backend_on_cpu_without_the_interpreter_is_a_clear_error(build, monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    net = build()
    functional.set_backend(net, "triton")
    with pytest.raises(BackendUnavailableError, match=r"triton.*CUDA.*TRITON_INTERPRET=1"):
        net(torch.rand(2, 2, 3, 2, 2))
