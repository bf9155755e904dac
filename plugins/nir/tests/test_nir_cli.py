"""``spikelayers nir export`` and ``spikelayers nir import``."""

from __future__ import annotations

import nir
import torch
from torch import nn

from spikelayers import functional, layer, neuron
from spikelayers.cli import main


def test_export_then_import_through_the_command_line(tmp_path, capsys):
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(4, 6), neuron.LIFNode(tau=2.0, v_threshold=0.2))
    torch.save(net, tmp_path / "model.pt")
    assert main(["nir", "export", str(tmp_path / "model.pt"), str(tmp_path / "net.nir"), "--input-shape", "1,4"]) == 0
    graph = nir.read(tmp_path / "net.nir")
    assert graph.metadata["dt"] == 1e-4 and {"0", "1"} <= set(graph.nodes)
    assert main(["nir", "import", str(tmp_path / "net.nir"), str(tmp_path / "back.pt"), "--step-mode", "m"]) == 0
    back = torch.load(tmp_path / "back.pt", weights_only=False)
    x = (torch.rand(5, 3, 4) > 0.5).float()
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        assert torch.equal(back(x), net(x))
    assert "wrote" in capsys.readouterr().out


def test_export_errors_are_reported_not_raised(tmp_path, capsys):
    torch.save(nn.Sequential(neuron.IFNode(v_reset=None)), tmp_path / "soft.pt")
    code = main(["nir", "export", str(tmp_path / "soft.pt"), str(tmp_path / "x.nir"), "--input-shape", "1,3"])
    assert code == 1
    assert "soft reset" in capsys.readouterr().err
    assert not (tmp_path / "x.nir").exists()
    assert main(["nir", "export", str(tmp_path / "soft.pt"), str(tmp_path / "x.nir"), "--input-shape", "a"]) == 1
