"""Golden checks against SpikingJelly 2.0.0's own NIR exporter and importer.

The fixtures in ``golden/`` were written by ``golden/make_golden.py`` with
``spikingjelly==2.0.0`` installed: SpikingJelly's export of a network, its outputs,
spikelayers' exports of the same network (and of a BatchNorm network) and SpikingJelly's
outputs after importing them. These tests need no SpikingJelly; the ``nir-interop`` tox
env also runs the same comparisons live (``interop/interop_spikingjelly.py``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from torch import nn

from spikelayers import functional, layer, neuron
from spikelayers_nir import from_nir, to_nir

GOLDEN = Path(__file__).parent / "golden"


def _load_networks():
    spec = importlib.util.spec_from_file_location("golden_networks", GOLDEN / "networks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NETWORKS = _load_networks()


@pytest.fixture(scope="module")
def golden():
    state = torch.load(GOLDEN / "state.pt", weights_only=True)
    outputs = torch.load(GOLDEN / "sj_outputs.pt", weights_only=True)
    nets = {
        "plain": NETWORKS.plain_network(layer, neuron),
        "batch_norm": NETWORKS.batch_norm_network(layer, neuron),
    }
    for key, net in nets.items():
        net.load_state_dict(state[key])
        net.eval()
    return state, outputs, nets


def chain(graph: nir.NIRGraph) -> list[nir.NIRNode]:
    """The graph's nodes from input to output (the graphs here are chains)."""
    following = dict(graph.edges)
    current = next(name for name, node in graph.nodes.items() if isinstance(node, nir.Input))
    nodes = []
    while current in following:
        current = following[current]
        nodes.append(graph.nodes[current])
    return nodes


def assert_same_node(ours: nir.NIRNode, theirs: nir.NIRNode) -> None:
    assert type(ours) is type(theirs)
    for field, value in vars(theirs).items():
        if field in ("metadata", "output_type") or (field == "input_type" and not isinstance(theirs, nir.Flatten)):
            continue
        mine = getattr(ours, field)
        if isinstance(value, dict):
            value, mine = value["input"], mine["input"]
        theirs_array, ours_array = np.asarray(value), np.asarray(mine)
        assert theirs_array.dtype.kind == ours_array.dtype.kind, field
        if theirs_array.dtype.kind == "f":
            assert theirs_array.dtype == ours_array.dtype, field
        np.testing.assert_array_equal(np.broadcast_to(theirs_array, ours_array.shape), ours_array, err_msg=field)


def multi_step(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    functional.set_step_mode(net, "m")
    functional.reset_net(net)
    with torch.no_grad():
        out = net(x)
    functional.reset_net(net)
    return out


def test_our_export_has_spikingjellys_nodes_and_parameters(golden):
    state, _, nets = golden
    ours = chain(to_nir(nets["plain"], state["x"][0], dt=state["dt"]))
    theirs = chain(nir.read(GOLDEN / "sj_export.nir"))
    assert [type(node).__name__ for node in theirs] == [type(node).__name__ for node in ours]
    for mine, other in zip(ours, theirs):
        assert_same_node(mine, other)


@pytest.mark.parametrize("key", ["plain", "batch_norm"])
def test_spikingjelly_imports_our_graphs_with_identical_outputs(golden, key):
    state, outputs, nets = golden
    stored = nir.read(GOLDEN / f"ours_{key}.nir")
    for mine, other in zip(chain(to_nir(nets[key], state["x"][0], dt=state["dt"])), chain(stored)):
        assert_same_node(mine, other)  # SpikingJelly read exactly what we write today
    ours = multi_step(nets[key], state["x"])
    assert ours.sum() > 0
    assert torch.equal(ours, outputs[f"sj_import_of_ours_{key}"])


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_we_import_spikingjellys_export_with_identical_spikes(golden, step_mode):
    state, outputs, _ = golden
    imported = from_nir(GOLDEN / "sj_export.nir", dt=state["dt"], step_mode=step_mode)
    assert [type(m).__name__ for m in imported] == [
        "Conv2d",
        "LIFNode",
        "AvgPool2d",
        "Flatten",
        "Linear",
        "LIFNode",
        "Linear",
        "IFNode",
    ]
    functional.reset_net(imported)
    with torch.no_grad():
        out = imported(state["x"]) if step_mode == "m" else torch.stack([imported(step) for step in state["x"]])
    assert outputs["sj_plain"].sum() > 0
    torch.testing.assert_close(out, outputs["sj_plain"], atol=0, rtol=0)
