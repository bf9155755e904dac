"""The conventions of the written graph (SpikingJelly 2.0's) and the refusals."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
from torch import nn

from spikelayers import layer, neuron
from spikelayers_nir import NIRExportError, NIRImportError, from_nir, to_nir


def export_one(module: nn.Module, example: torch.Tensor, **options) -> nir.NIRNode:
    graph = to_nir(nn.Sequential(module), example, **options)
    assert graph.metadata["dt"] == options.get("dt", 1e-4)
    return graph.nodes["0"]


def test_lif_parameters_follow_the_dt_convention():
    node = export_one(neuron.LIFNode(tau=2.0, v_threshold=0.7, v_reset=-0.2), torch.zeros(3, 2, 5), dt=1e-3)
    assert isinstance(node, nir.LIF)
    for field in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
        value = getattr(node, field)
        assert value.dtype == np.float64 and value.shape == (2, 5), field
    assert np.all(node.tau == 2.0 * 1e-3)
    assert np.all(node.r == 1.0)
    assert np.all(node.v_leak == -0.2) and np.all(node.v_reset == -0.2)
    assert np.all(node.v_threshold == 0.7)


def test_lif_without_decay_input_has_r_equal_to_tau():
    node = export_one(neuron.LIFNode(tau=4.0, decay_input=False), torch.zeros(1, 3))
    assert np.all(node.r == 4.0)


def test_if_has_r_one_over_dt():
    node = export_one(neuron.IFNode(v_threshold=0.5), torch.zeros(1, 3), dt=1e-3)
    assert isinstance(node, nir.IF) and np.all(node.r == 1.0 / 1e-3) and np.all(node.v_threshold == 0.5)


def test_float32_time_constants_would_not_survive_but_float64_ones_do():
    tau = 2.0
    assert float(np.float32(tau * 1e-4)) / 1e-4 != tau  # why parameters are float64
    node = export_one(neuron.LIFNode(tau=tau), torch.zeros(1, 1))
    assert node.tau.dtype == np.float64 and float(node.tau[0]) / 1e-4 == tau


def test_flatten_dims_are_shifted_by_the_missing_batch_dim():
    node = export_one(layer.Flatten(2, -1), torch.zeros(1, 3, 4, 5))
    assert (node.start_dim, node.end_dim) == (1, -1)
    assert node.input_type["input"].tolist() == [3, 4, 5]
    back = from_nir(to_nir(nn.Sequential(layer.Flatten(2, -1)), torch.zeros(1, 3, 4, 5)))
    assert (back[0].start_dim, back[0].end_dim) == (2, -1)


def test_voting_layer_is_a_block_mean_linear():
    node = export_one(layer.VotingLayer(3), torch.zeros(1, 6))
    assert isinstance(node, nir.Linear)
    np.testing.assert_array_equal(node.weight, np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], np.float32) / 3)


def test_batch_norm_is_folded_into_the_conv_before_it():
    torch.manual_seed(0)
    conv, norm = layer.Conv2d(2, 3, 3), layer.BatchNorm2d(3)
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    net = nn.Sequential(conv, norm).eval()
    graph = to_nir(net, torch.zeros(1, 2, 5, 5))
    assert [type(n).__name__ for n in graph.nodes.values()] == ["Input", "Conv2d", "Output"]
    folded = from_nir(graph)
    x = torch.randn(4, 2, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), atol=1e-6, rtol=0)


class ExactThreshold:
    """A potential that lands exactly on the threshold."""

    net = nn.Sequential(layer.Linear(1, 1, bias=False), neuron.IFNode(v_threshold=0.5))
    with torch.no_grad():
        net[0].weight.fill_(0.5)
    x = torch.ones(1, 1, 1)


def strict_if(graph: nir.NIRGraph, x: torch.Tensor) -> torch.Tensor:
    """A reader that follows NIR to the letter: v += W x; spike where v > threshold."""
    weight = torch.from_numpy(np.array(graph.nodes["0"].weight))
    threshold = torch.from_numpy(np.array(graph.nodes["1"].v_threshold)).float()
    return (x @ weight.T > threshold).float()


def test_default_threshold_differs_from_strict_readers_only_on_equality():
    graph = to_nir(ExactThreshold.net, ExactThreshold.x[0])
    assert np.all(graph.nodes["1"].v_threshold == 0.5)
    ours = ExactThreshold.net(ExactThreshold.x[0])
    assert ours.item() == 1.0 and strict_if(graph, ExactThreshold.x[0]).item() == 0.0


def test_exact_threshold_makes_strict_readers_fire_as_we_do():
    graph = to_nir(ExactThreshold.net, ExactThreshold.x[0], exact_threshold=True)
    assert float(graph.nodes["1"].v_threshold[0]) < 0.5
    assert strict_if(graph, ExactThreshold.x[0]).item() == 1.0
    below = torch.full((1, 1), float(np.nextafter(np.float32(1.0), np.float32(0))))
    assert strict_if(graph, below).item() == ExactThreshold.net(below).item() == 0.0


def test_exact_threshold_import_fires_strictly_above():
    graph = to_nir(ExactThreshold.net, ExactThreshold.x[0])
    strict = from_nir(graph, exact_threshold=True)
    assert strict(ExactThreshold.x[0]).item() == 0.0
    assert from_nir(graph)(ExactThreshold.x[0]).item() == 1.0


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        (neuron.LIFNode(v_reset=None), "soft reset"),
        (neuron.IFNode(v_reset=None), "soft reset"),
        (layer.MaxPool2d(2), "maxpool_as_sumpool=True"),
        (layer.AvgPool2d(2, ceil_mode=True), "ceil_mode"),
        (layer.Flatten(0), "batch dim"),
        (layer.Conv2d(2, 2, 1, padding=1, padding_mode="reflect"), "padding_mode"),
        (layer.Conv2d(2, 2, 1, groups=2), "grouped convolutions"),
        (layer.AdaptiveAvgPool2d(3), "does not divide"),
        (layer.Upsample(scale_factor=2), "no installed plugin has a NIR converter"),
    ],
)
def test_refusals_name_the_layer_and_the_reason(module, reason):
    net = nn.Sequential(layer.Conv2d(2, 2, 1), module)
    with pytest.raises(NIRExportError, match=reason) as info:
        to_nir(net, torch.zeros(1, 2, 4, 4))
    assert f"layer '1' ({type(module).__name__})" in str(info.value)


def test_batch_norm_in_training_mode_is_refused():
    net = nn.Sequential(layer.Linear(3, 3), layer.BatchNorm1d(3))
    with pytest.raises(NIRExportError, match=r"layer '1' \(BatchNorm1d\).*training mode"):
        to_nir(net, torch.zeros(2, 3))


def test_batch_norm_without_a_layer_to_fold_into_is_refused():
    net = nn.Sequential(neuron.IFNode(), layer.BatchNorm1d(3)).eval()
    with pytest.raises(NIRExportError, match="folded into a Linear or Conv"):
        to_nir(net, torch.zeros(2, 3))


def test_ottt_neuron_in_training_mode_is_refused():
    net = nn.Sequential(layer.Linear(3, 3), neuron.OTTTLIFNode(v_reset=0.0))
    with pytest.raises(NIRExportError, match=r"OTTTLIFNode.*\.eval\(\)"):
        to_nir(net, torch.zeros(2, 3))


def test_export_leaves_the_network_as_it_was():
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode(v_threshold=0.1))
    with torch.no_grad():
        net(torch.ones(2, 3))
    v = net[1].v.clone()
    state = {k: t.clone() for k, t in net.state_dict().items()}
    to_nir(net, torch.ones(5, 3))
    assert torch.equal(net[1].v, v)
    assert all(torch.equal(t, state[k]) for k, t in net.state_dict().items())
    with pytest.raises(NIRExportError):
        to_nir(nn.Sequential(net, layer.MaxPool2d(2)), torch.ones(1, 3))
    assert torch.equal(net[1].v, v)


def test_export_right_after_a_forward_with_gradients():
    net = nn.Sequential(layer.Linear(3, 3), neuron.LIFNode(v_threshold=0.1))
    net(torch.ones(2, 3))
    assert net[1].v.grad_fn is not None
    v = net[1].v
    assert isinstance(to_nir(net, torch.ones(2, 3)).nodes["1"], nir.LIF)
    assert net[1].v is v and v.grad_fn is not None


def lif_graph(**fields) -> nir.NIRGraph:
    params = {"tau": 2e-4, "r": 1.0, "v_leak": 0.0, "v_threshold": 1.0, "v_reset": 0.0}
    params.update(fields)
    arrays = {key: np.broadcast_to(np.asarray(value, np.float64), (2,)).copy() for key, value in params.items()}
    return nir.NIRGraph.from_list(nir.LIF(**arrays))


@pytest.mark.parametrize(
    ("fields", "dt", "reason"),
    [
        ({"v_threshold": [1.0, 2.0]}, None, "differs between neurons"),
        ({"tau": 1e-4}, None, "dt mismatch"),
        ({}, 1e-3, "dt mismatch"),
        ({"r": 0.3}, None, "r=0.3"),
        ({"v_leak": 0.5}, None, "v_leak"),
    ],
)
def test_import_refusals_name_the_node_and_the_reason(fields, dt, reason):
    with pytest.raises(NIRImportError, match=reason) as info:
        from_nir(lif_graph(**fields), dt=dt)
    assert "NIR node 'lif' (LIF)" in str(info.value)


def test_import_of_an_if_with_another_dt_is_refused():
    graph = nir.NIRGraph.from_list(nir.IF(r=np.full(2, 1e3), v_threshold=np.ones(2), v_reset=np.zeros(2)))
    with pytest.raises(NIRImportError, match="r = 1/dt"):
        from_nir(graph)
    assert isinstance(from_nir(graph, dt=1e-3)[0], neuron.IFNode)


def test_import_of_a_node_type_without_importer_is_refused():
    graph = nir.NIRGraph.from_list(nir.Scale(scale=np.ones(3)))
    with pytest.raises(NIRImportError, match=r"'scale' \(Scale\).*no installed plugin"):
        from_nir(graph)


def test_dt_comes_from_the_metadata_unless_given():
    graph = to_nir(nn.Sequential(neuron.LIFNode(tau=3.0)), torch.zeros(1, 2), dt=1e-2)
    assert from_nir(graph)[0].tau == pytest.approx(3.0)
    assert from_nir(graph, dt=1e-3)[0].tau == pytest.approx(30.0)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="dt must be a positive"):
        to_nir(nn.Sequential(layer.Linear(1, 1)), torch.zeros(1, 1), dt=0.0)
    with pytest.raises(ValueError, match="step_mode"):
        from_nir(lif_graph(), step_mode="x")
