"""Our graphs in snnTorch 1.0.0 and Norse 1.1.0, and theirs in ours.

Agreement is asserted where the semantics match; each known upstream defect is a
strict xfail, so a fixed upstream release turns it into a failure to revisit.
Our graphs are written with ``exact_threshold=True`` because both libraries fire on
``v > threshold``.
"""

from __future__ import annotations

import norse.torch as norse
import pytest
import snntorch as snn
import torch
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir as snntorch_export
from snntorch.import_nir import import_from_nir as snntorch_import
from torch import nn

from spikelayers import layer, neuron
from spikelayers_nir import NIRImportError, from_nir, to_nir

T, N = 8, 4
FLATTEN_DEFECT = (
    "imports NIR Flatten(start_dim=0) as torch.nn.Flatten(0), which also flattens the batch dim "
    "(NIR has no batch dim; SpikingJelly and spikelayers shift the dims by one)"
)


def dense(cell: nn.Module, seed: int = 1) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(layer.Linear(6, 5), cell)


def conv_network() -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        neuron.LIFNode(tau=2.0, v_threshold=0.5),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(64, 10),
        neuron.LIFNode(tau=2.0, v_threshold=0.3),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    return net.eval()


def check(kit, net, x, load, stateful):
    expected = kit.ours_multi_step(net, x)
    assert expected.sum() > 0
    graph = to_nir(net, x, exact_threshold=True)  # the network is multi-step now
    assert torch.equal(kit.stepped(load(graph), x, stateful), expected)


def in_snntorch(graph):
    return snntorch_import(graph)


def in_norse(graph):
    return norse.from_nir(graph, dt=1e-4)


# -- ours -> snnTorch -----------------------------------------------------------------


@pytest.mark.parametrize("decay_input", [False, True])
def test_snntorch_runs_our_lif_as_we_do(kit, decay_input):
    net = dense(neuron.LIFNode(tau=2.0, decay_input=decay_input, v_threshold=0.5))
    check(kit, net, kit.spikes((T, N, 6), p=0.6), in_snntorch, stateful=False)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="snnTorch asserts r == 1 for NIR IF (r is 1/dt there) and builds a leaky Leaky(beta=0.9)",
)
def test_snntorch_runs_our_if(kit):
    check(kit, dense(neuron.IFNode(v_threshold=0.5)), kit.spikes((T, N, 6)), in_snntorch, stateful=False)


@pytest.mark.xfail(strict=True, raises=RuntimeError, reason=f"snnTorch {FLATTEN_DEFECT}")
def test_snntorch_runs_our_conv_network(kit):
    check(kit, conv_network(), kit.spikes((T, N, 2, 8, 8)), in_snntorch, stateful=False)


# -- ours -> Norse --------------------------------------------------------------------


def test_norse_runs_our_lif_as_we_do(kit):
    net = dense(neuron.LIFNode(tau=2.0, v_threshold=0.5))
    check(kit, net, kit.spikes((T, N, 6), p=0.6), in_norse, stateful=True)


def test_norse_runs_our_if_as_we_do(kit):
    check(kit, dense(neuron.IFNode(v_threshold=0.5)), kit.spikes((T, N, 6)), in_norse, stateful=True)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Norse ignores NIR LIF's r (it only logs a warning), so decay_input=False (r = tau) runs as r = 1",
)
def test_norse_runs_our_lif_without_decay_input(kit):
    net = dense(neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=0.5))
    check(kit, net, kit.spikes((T, N, 6), p=0.6), in_norse, stateful=True)


@pytest.mark.xfail(
    strict=True,
    raises=(AssertionError, RuntimeError),
    reason=f"Norse has no importer for NIR AvgPool2d (it is left out of the network it returns) and {FLATTEN_DEFECT}",
)
def test_norse_runs_our_conv_network(kit):
    check(kit, conv_network(), kit.spikes((T, N, 2, 8, 8)), in_norse, stateful=True)


# -- snnTorch / Norse -> ours ---------------------------------------------------------


def snntorch_leaky(**options) -> nn.Sequential:
    torch.manual_seed(2)
    cell = snn.Leaky(beta=torch.full((5,), 0.8), threshold=torch.full((5,), 0.5), init_hidden=True, **options)
    return nn.Sequential(nn.Linear(6, 5), cell)


def check_snntorch_graph(kit, net: nn.Sequential) -> None:
    x = kit.spikes((T, N, 6), seed=4, p=0.7)
    graph = snntorch_export(net, x[0], ignore_dims=[0])  # snnTorch's graphs carry no dt: ours defaults to 1e-4
    snn_utils.reset(net)
    expected = kit.stepped(net, x, stateful=False)
    assert expected.sum() > 0
    assert torch.equal(kit.ours_multi_step(from_nir(graph), x), expected)


@pytest.mark.parametrize("reset_delay", [False, True])
def test_we_run_snntorchs_zero_reset_leaky_as_it_does(kit, reset_delay):
    check_snntorch_graph(kit, snntorch_leaky(reset_mechanism="zero", reset_delay=reset_delay))


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="snnTorch writes its default subtractive-reset Leaky as a NIR LIF with v_reset=0, a hard reset",
)
def test_we_run_snntorchs_default_leaky_as_it_does(kit):
    check_snntorch_graph(kit, snntorch_leaky())


@pytest.mark.xfail(
    strict=True,
    raises=NIRImportError,
    reason="Norse writes LIF tau as dt / tau_mem_inv while its importer reads tau_mem_inv = 1 / tau; the tau/dt check refuses the graph",
)
def test_we_run_norses_lif_box(kit):
    cell = norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.tensor(500.0), v_th=torch.tensor(0.3)), dt=1e-3)
    torch.manual_seed(3)
    net = norse.SequentialState(nn.Linear(6, 5), cell)
    x = kit.spikes((T, N, 6), seed=5)
    graph = norse.to_nir(net, x[0])
    expected = kit.stepped(net, x, stateful=True)
    assert torch.equal(kit.ours_multi_step(from_nir(graph, dt=1e-3), x), expected)


def test_we_run_norses_integrate_and_fire_as_it_does(kit):
    """Norse writes IF with r = 1 and adds its input once per step: that is dt = 1 s here."""
    torch.manual_seed(4)
    net = norse.SequentialState(nn.Linear(6, 5), norse.IAFCell(norse.IAFParameters(v_th=torch.tensor(0.4))))
    x = kit.spikes((T, N, 6), seed=6)
    graph = norse.to_nir(net, x[0])
    expected = kit.stepped(net, x, stateful=True)
    assert expected.sum() > 0
    ours = from_nir(graph, dt=1.0, exact_threshold=True)
    assert torch.equal(kit.ours_multi_step(ours, x), expected)
