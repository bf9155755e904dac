"""Live checks against SpikingJelly 2.0.0 (the fixtures of ``tests/test_nir_golden.py`` say the same offline)."""

from __future__ import annotations

import nir
import torch
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based.nir_exchange import export_to_nir, import_from_nir
from torch import nn

from spikelayers import layer, neuron
from spikelayers_nir import from_nir, to_nir

DT = 1e-3


def done_when_network() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        layer.BatchNorm2d(4),
        neuron.LIFNode(tau=2.0, v_threshold=0.5),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(64, 10),
        neuron.IFNode(v_threshold=0.3),
    )
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.2, 0.2)
        net[1].running_var.uniform_(0.5, 1.5)
        net[0].weight.mul_(3.0)
    return net.eval()


def test_spikingjelly_imports_our_done_when_network_with_identical_outputs(kit, tmp_path):
    net = done_when_network()
    x = kit.spikes((6, 3, 2, 8, 8))
    nir.write(tmp_path / "ours.nir", to_nir(net, x[0], dt=DT))
    theirs = import_from_nir(nir.read(tmp_path / "ours.nir"), dt=DT, step_mode="m")
    with torch.no_grad():
        out, _ = theirs(x, None)
    ours = kit.ours_multi_step(net, x)
    assert ours.sum() > 0
    assert torch.equal(out, ours)


def test_we_import_spikingjellys_export_with_identical_spikes(kit, tmp_path):
    torch.manual_seed(1)
    sj_net = nn.Sequential(
        sj_layer.Conv2d(2, 4, 3, padding=1),
        sj_neuron.LIFNode(tau=3.0, decay_input=False, v_threshold=0.5, v_reset=-0.1),
        sj_layer.Flatten(),
        sj_layer.Linear(256, 10),
        sj_neuron.IFNode(v_threshold=0.3),
    ).eval()
    x = kit.spikes((5, 2, 2, 8, 8), seed=3)
    export_to_nir(sj_net, x[0], save_path=tmp_path / "sj.nir", dt=DT)
    sj_functional.set_step_mode(sj_net, "m")
    with torch.no_grad():
        expected = sj_net(x)
    ours = from_nir(tmp_path / "sj.nir", dt=DT, step_mode="m")
    assert expected.sum() > 0
    assert torch.equal(kit.ours_multi_step(ours, x), expected)
