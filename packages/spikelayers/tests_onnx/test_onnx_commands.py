"""`spikelayers export --format onnx` and `spikelayers demo --export`, checked in onnxruntime."""

import re

import numpy as np
import torch

from spikelayers import cli, functional, layer, neuron
from spikelayers.testing.export import onnx_session


def test_export_command_writes_a_streaming_model_that_matches_eager(tmp_path, capsys):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        layer.Linear(4, 6), neuron.LIFNode(tau=2.0), layer.Linear(6, 3), layer.SynapseFilter(tau=3.0)
    )
    torch.save(net, tmp_path / "net.pt")
    model = tmp_path / "model.onnx"
    assert cli.main(["export", "--format", "onnx", str(tmp_path / "net.pt"), str(model), "--input-shape", "2,4"]) == 0
    assert "inputs input, 1.v, 3.I; outputs output, 1.v.next, 3.I.next" in capsys.readouterr().out
    session = onnx_session(model)
    assert [i.name for i in session.get_inputs()] == ["input", "1.v", "3.I"]
    x = torch.randn(5, 2, 4) * 2
    state = {"1.v": np.zeros((2, 6), np.float32), "3.I": np.zeros((2, 3), np.float32)}
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        expected = net(x)
    for t in range(5):
        y, v, current = session.run(None, {"input": x[t].numpy(), **state})
        state = {"1.v": v, "3.I": current}
        np.testing.assert_allclose(y, expected[t].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(current, functional.memories(net)["3.I"].numpy(), rtol=1e-5, atol=1e-6)


def test_export_command_reports_a_bad_network_file(tmp_path, capsys):
    torch.save({"weights": torch.ones(1)}, tmp_path / "state.pt")
    assert cli.main(["export", str(tmp_path / "state.pt"), str(tmp_path / "m.onnx"), "--input-shape", "1,4"]) == 1
    assert "holds a dict, not a torch.nn.Module" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_demo_export_gives_the_pytorch_accuracy_in_onnxruntime(tmp_path, capsys):
    model = tmp_path / "digits.onnx"
    assert cli.main(["demo", "--epochs", "1", "--no-progress", "--export", str(model)]) == 0
    out = capsys.readouterr().out
    eager = re.search(r"test accuracy \(PyTorch\): ([\d.]+)%", out)
    runtime = re.search(r"test accuracy \(onnxruntime, streamed step by step\): ([\d.]+)%", out)
    assert eager and runtime, out
    assert float(eager.group(1)) > 30.0
    assert runtime.group(1) == eager.group(1)
    assert "same prediction as PyTorch for 100.00% of the images" in out
    names = ["input", "features.2.v", "features.6.v", "classifier.3.v", "classifier.5.I"]
    assert [i.name for i in onnx_session(model).get_inputs()] == names
