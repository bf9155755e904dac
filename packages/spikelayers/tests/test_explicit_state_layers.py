"""Explicit state on networks of installed layers: torch.func and torch.compile."""

import pytest
import torch
from torch import nn

from spikelayers import functional, layer, neuron
from spikelayers.testing import assert_close
from spikelayers_demo.model import DigitsSNN
from spikelayers_norm import tebn_fused


def plain_pytorch_network() -> nn.Module:
    """Stateful layers whose steps are plain PyTorch ops (no custom autograd function)."""
    torch.manual_seed(0)
    return nn.Sequential(
        layer.Linear(4, 6),
        layer.Delay(2),
        layer.LinearRecurrentContainer(nn.Tanh(), in_features=6, out_features=6),
        layer.Linear(6, 3),
    ).eval()


def spiking_network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(layer.Linear(4, 6), neuron.LIFNode(tau=2.0), layer.SynapseFilter(tau=3.0)).eval()


def test_the_demo_network_streams_statelessly_like_its_multi_step_run():
    net = DigitsSNN().eval()
    assert list(functional.memories(net)) == [
        "features.2.v",
        "features.6.v",
        "classifier.1.mask",
        "classifier.1.seeded_mask",
        "classifier.3.v",
        "classifier.5.I",
    ]
    x = torch.rand(4, 3, 1, 8, 8)
    with torch.no_grad():
        expected = net(x)
        functional.reset_net(net)
        functional.set_step_mode(net, "s")
        state = functional.memories(net)
        for t in range(4):
            y, state = functional.stateless_forward(net, x[t], state)
            assert_close(y, expected[t], f"step {t}")
    assert functional.memories(net)["features.2.v"] == 0.0  # the modules kept their own state


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_vmap_runs_independent_streams_through_plain_pytorch_layers(step_mode):
    net = plain_pytorch_network()
    functional.set_step_mode(net, step_mode)
    x = torch.randn(3, 5, 2, 4) if step_mode == "m" else torch.randn(3, 2, 4)  # three streams
    start = {"1.queue": torch.randn(3, 2, 2, 6), "2.y": torch.randn(3, 2, 6)}

    def run(x_b, state_b):
        y, new = functional.stateless_forward(net, x_b, state_b)
        return y, {name: new[name] for name in state_b}

    y, state = torch.func.vmap(run)(x, start)
    for b in range(3):
        y_b, state_b = run(x[b], {name: value[b] for name, value in start.items()})
        assert_close(y[b], y_b, f"stream {b}")
        for name in start:
            assert_close(state[name][b], state_b[name], f"stream {b}, memory {name}")


def test_per_sample_gradients_through_plain_pytorch_layers():
    net = plain_pytorch_network()
    functional.set_step_mode(net, "m")
    params = {name: p.detach() for name, p in net.named_parameters()}
    x = torch.randn(5, 4, 4)  # [T, N, C]

    def loss(p, x_seq):  # one sample [T, C]
        y, _ = functional.stateless_forward(net, x_seq.unsqueeze(1), {}, p)
        return y.pow(2).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 1))(params, x)
    for n in range(4):
        expected = torch.func.grad(loss)(params, x[:, n])
        for name in params:
            assert_close(per_sample[name][n], expected[name], f"sample {n}, gradient of {name}")


def _family(build, x_shape: tuple[int, ...], start: dict[str, tuple[int, ...]] | None = None):
    def family():
        torch.manual_seed(0)
        return build(), x_shape, start or {}

    return family


def _lif():
    return nn.Sequential(layer.Linear(4, 6), neuron.LIFNode(tau=2.0, v_threshold=0.5, step_mode="m")).eval()


def _plif():
    return nn.Sequential(layer.Linear(4, 6), neuron.ParametricLIFNode(v_threshold=0.5, step_mode="m")).eval()


def _klif():
    return nn.Sequential(layer.Linear(4, 6), neuron.KLIFNode(v_threshold=0.5, step_mode="m")).eval()


def _izhikevich():
    return nn.Sequential(layer.Linear(4, 6), neuron.IzhikevichNode(v_threshold=0.5, step_mode="m")).eval()


def _psn():
    return nn.Sequential(layer.Linear(4, 6), neuron.PSN(T=5)).eval()


def _gated_lif():
    return nn.Sequential(layer.Linear(4, 6), neuron.GatedLIFNode(T=5, inplane=6)).eval()


def _dsr_if():
    return nn.Sequential(layer.Linear(4, 6), neuron.DSRIFNode(T=5, v_threshold=0.5)).eval()


def _dsr_lif():
    return nn.Sequential(layer.Linear(4, 6), neuron.DSRLIFNode(T=5, v_threshold=0.5)).eval()


def _synapse_filter():
    return nn.Sequential(layer.Linear(4, 6), layer.SynapseFilter(tau=3.0, learnable=True, step_mode="m")).eval()


def _neunorm():
    net = nn.Sequential(layer.Conv2d(2, 3, 3, padding=1, step_mode="m"), layer.NeuNorm(3, 4, 4, step_mode="m"))
    return net.eval()


def _tebn():
    """Batch statistics (no running ones), so that each stream normalises over its own batch."""
    norm = layer.TemporalEffectiveBatchNorm2d(5, 3, track_running_stats=False, step_mode="m")
    # no bias before it: the normalisation removes it, its gradient is rounding noise
    return nn.Sequential(layer.Conv2d(2, 3, 3, padding=1, bias=False, step_mode="m"), norm).eval()


@pytest.fixture(autouse=True)
def fused_tebn_at_any_size(monkeypatch):
    """TEBN takes its fused autograd function from a size on; take it at the tests' sizes."""
    monkeypatch.setattr(tebn_fused, "FUSED_MIN_NUMEL", 0)


def _bntt():
    """Batch statistics (no running ones), so that each stream normalises over its own batch."""
    norm = layer.BatchNormThroughTime2d(5, 3, track_running_stats=False, step_mode="m")
    return nn.Sequential(layer.Conv2d(2, 3, 3, padding=1, bias=False, step_mode="m"), norm).eval()


def _temporal_attention():
    return nn.Sequential(
        layer.Conv2d(2, 3, 3, padding=1, step_mode="m"), layer.TemporalWiseAttention(T=5, reduction=2, dimension=4)
    ).eval()


def _multi_dimensional_attention():
    return nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1, step_mode="m"),
        layer.MultiDimensionalAttention(T=5, reduction_t=2, reduction_c=2, kernel_size=3, C=4),
    ).eval()


def _ottt():
    """OTTT in training mode: its neuron hands ``[spike, trace]`` on, and ``GradwithTrace``
    routes the gradient through ``ReplaceforGrad`` (single-step by nature)."""
    return nn.Sequential(
        layer.Linear(4, 6), neuron.OTTTLIFNode(tau=2.0, v_threshold=0.5), layer.GradwithTrace(nn.Linear(6, 3))
    ).train()


# Each family: a network whose forward runs the family's fast path (a custom autograd
# function) in eager mode, one sample's input shape, and the memories each stream starts from.
FAMILIES = {
    "LIFNode": _family(_lif, (5, 1, 4), {"1.v": (1, 6)}),
    "ParametricLIFNode": _family(_plif, (5, 1, 4), {"1.v": (1, 6)}),
    "KLIFNode": _family(_klif, (5, 1, 4), {"1.v": (1, 6)}),
    "IzhikevichNode": _family(_izhikevich, (5, 1, 4), {"1.v": (1, 6), "1.w": (1, 6)}),
    "PSN": _family(_psn, (5, 1, 4)),
    "GatedLIFNode": _family(_gated_lif, (5, 1, 4), {"1.v": (1, 6)}),
    "DSRIFNode": _family(_dsr_if, (5, 1, 4)),
    "DSRLIFNode": _family(_dsr_lif, (5, 1, 4)),
    "SynapseFilter": _family(_synapse_filter, (5, 1, 4), {"1.I": (1, 6)}),
    "NeuNorm": _family(_neunorm, (5, 1, 2, 4, 4), {"1.x": (1, 1, 4, 4)}),
    "TemporalEffectiveBatchNorm2d": _family(_tebn, (5, 2, 2, 4, 4)),
    "BatchNormThroughTime2d": _family(_bntt, (5, 2, 2, 4, 4)),
    "TemporalWiseAttention": _family(_temporal_attention, (5, 1, 2, 4, 4)),
    "MultiDimensionalAttention": _family(_multi_dimensional_attention, (5, 1, 2, 4, 4)),
    "OTTT": _family(_ottt, (1, 4), {"1.v": (1, 6), "1.trace": (1, 6)}),
}


def _streams(x_shape, start_shapes, count=3):
    """``count`` independent inputs and start memories, stacked on a new leading dim."""
    x = torch.randn(count, *x_shape) * 1.5
    start = {name: torch.rand(count, *shape) * 0.4 for name, shape in start_shapes.items()}
    return x, start


def _per_stream(values, b):
    return {name: value[b] for name, value in values.items()}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_vmap_over_streams_equals_each_stream_run_eagerly(family):
    net, x_shape, start_shapes = FAMILIES[family]()
    x, start = _streams(x_shape, start_shapes)

    def run(x_b, state_b):
        y, new = functional.stateless_forward(net, x_b, state_b)
        return y, {name: new[name] for name in state_b}

    y, state = torch.func.vmap(run)(x, start)
    assert y.shape[0] == 3
    for b in range(3):
        y_b, state_b = run(x[b], _per_stream(start, b))  # eager: the fast path
        assert_close(y[b], y_b, f"{family}, stream {b}")
        for name in start:
            assert_close(state[name][b], state_b[name], f"{family}, stream {b}, memory {name}")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_per_sample_gradients_equal_eager_autograd(family):
    net, x_shape, start_shapes = FAMILIES[family]()
    x, start = _streams(x_shape, start_shapes)
    params = {name: p.detach() for name, p in net.named_parameters()}
    target = torch.randn(3, *net(x[0]).shape) if family != "OTTT" else None
    functional.reset_net(net)

    def loss(p, x_b, state_b, target_b):
        y, new = functional.stateless_forward(net, x_b, state_b, p)
        total = (y - target_b).pow(2).sum() if target_b is not None else y.pow(2).sum()
        return total + sum(value.pow(2).sum() for name, value in new.items() if name in state_b)

    in_dims = (None, 0, 0, 0 if target is not None else None)
    grads = torch.func.vmap(torch.func.grad(loss), in_dims=in_dims)(params, x, start, target)
    assert grads.keys() == params.keys()
    for b in range(3):
        leaves = {name: p.clone().requires_grad_() for name, p in params.items()}
        target_b = target[b] if target is not None else None
        eager = torch.autograd.grad(loss(leaves, x[b], _per_stream(start, b), target_b), list(leaves.values()))
        for name, expected in zip(leaves, eager, strict=True):
            assert_close(grads[name][b], expected, f"{family}, sample {b}, gradient of {name}", rtol=1e-4, atol=1e-5)
        assert any(bool(g.abs().sum() > 0) for g in eager), f"{family}: every gradient is zero"


def test_vmap_streams_spiking_layers_step_by_step_like_their_eager_steps():
    net = spiking_network()  # single-step mode: LIF and SynapseFilter run their fused kernels with T = 1
    x = torch.randn(4, 3, 2, 4)  # [T, streams, N, C]
    state = {"1.v": torch.rand(3, 2, 6) * 0.5, "2.I": torch.rand(3, 2, 6)}
    streams = [_per_stream(state, b) for b in range(3)]
    step = torch.func.vmap(lambda x_b, s_b: functional.stateless_forward(net, x_b, s_b))
    for t in range(4):
        y, state = step(x[t], state)
        for b in range(3):
            y_b, streams[b] = functional.stateless_forward(net, x[t, b], streams[b])
            assert_close(y[b], y_b, f"step {t}, stream {b}")
            for name in state:
                assert_close(state[name][b], streams[b][name], f"step {t}, stream {b}, memory {name}")


def test_input_gradients_through_spiking_neurons_under_grad():
    net = spiking_network()
    x = torch.randn(2, 4)

    def loss(x_step):
        return functional.stateless_forward(net, x_step, {"1.v": torch.full((2, 6), 0.5)})[0].sum()

    leaf = x.clone().requires_grad_()
    expected = torch.autograd.grad(loss(leaf), leaf)[0]
    assert_close(torch.func.grad(loss)(x), expected, "input gradient")
    assert functional.memories(net)["1.v"] == 0.0  # the modules kept their own state


def test_stateless_forward_of_spiking_layers_compiles_with_fullgraph():
    net = spiking_network()
    functional.set_step_mode(net, "m")
    x = torch.randn(5, 2, 4)
    start = {"1.v": torch.zeros(2, 6), "2.I": torch.zeros(2, 6)}

    def run(x_seq, state):
        return functional.stateless_forward(net, x_seq, state)

    torch._dynamo.reset()
    y, state = torch.compile(run, fullgraph=True, backend="aot_eager")(x, dict(start))
    y_eager, state_eager = run(x, dict(start))
    assert_close(y, y_eager, "compiled output")
    for name in start:
        assert_close(state[name], state_eager[name], f"compiled memory {name}")
