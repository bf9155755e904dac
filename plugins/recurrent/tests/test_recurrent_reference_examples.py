"""The reference API's own examples, with only the import changed (they need the neuron plugin)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

pytest.importorskip("spikelayers_neuron")

from spikelayers import functional, neuron
from spikelayers.layer import ElementWiseRecurrentContainer, LinearRecurrentContainer


def test_element_wise_example(capsys):
    T = 8
    net = ElementWiseRecurrentContainer(neuron.IFNode(v_reset=None), element_wise_function=lambda x, y: x + y)
    print(net)
    x = torch.zeros([T])
    x[0] = 1.5
    spikes = []
    for t in range(T):
        s = net(x[t])
        spikes.append(s)
        print(t, f"x[t]={x[t]}, s[t]={s}")

    functional.reset_net(net)
    # x[0] = 1.5 fires and leaves 0.5 (soft reset); every later step adds the fed-back spike.
    assert torch.stack(spikes).tolist() == [1.0] * T
    assert net.y is None and net.sub_module.v == 0.0
    assert "ElementWiseRecurrentContainer" in capsys.readouterr().out


def test_linear_example():
    in_features = 4
    out_features = 2
    T = 8
    N = 2
    net = LinearRecurrentContainer(
        nn.Sequential(
            nn.Linear(in_features, out_features),
            neuron.LIFNode(),
        ),
        in_features,
        out_features,
    )
    print(net)
    x = torch.rand([T, N, in_features])
    outputs = []
    for t in range(T):
        outputs.append(net(x[t]))
        print(t, outputs[-1])

    functional.reset_net(net)
    assert torch.stack(outputs).shape == (T, N, out_features)
    assert net.y is None


def test_examples_in_multi_step_mode_match_single_steps():
    torch.manual_seed(0)
    net = LinearRecurrentContainer(nn.Sequential(nn.Linear(4, 2), neuron.LIFNode()), 4, 2)
    with torch.no_grad():
        net.rc.weight.fill_(0.3)
        net.sub_module[0].weight.fill_(0.5)
    x = torch.rand([8, 2, 4]) * 2
    single = torch.stack([net(x[t]) for t in range(8)])
    functional.reset_net(net)
    functional.set_step_mode(net, "m")
    assert net.sub_module[1].step_mode == "s"
    assert torch.equal(net(x), single)
    assert single.sum() > 0
