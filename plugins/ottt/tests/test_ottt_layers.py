"""OTTT layers: signatures, registry, autograd behaviour, the neuron and online training."""

import inspect

import pytest
import torch
from torch import nn

from spikelayers import functional, layer, neuron
from spikelayers.testing import assert_close, check_signature, parametrize_with_checks
from spikelayers_neuron.node import LIFNode
from spikelayers_neuron.surrogate import Sigmoid
from spikelayers_ottt.cases import conformance_cases
from spikelayers_ottt.node import OTTTLIFNode
from spikelayers_ottt.replace_grad import ReplaceforGrad
from spikelayers_ottt.sequential import OTTTSequential
from spikelayers_ottt.trace_ops import GradwithTrace, SpikeTraceOp


@parametrize_with_checks(conformance_cases())
def test_ottt_conforms(case, check):
    check(case)


@pytest.mark.parametrize("cls", [ReplaceforGrad, GradwithTrace, SpikeTraceOp, OTTTSequential], ids=lambda c: c.__name__)
def test_layer_signatures(cls):
    check_signature(cls)


def test_neuron_signature_matches_the_reference_order():
    check_signature(OTTTLIFNode, namespace="neuron")
    params = list(inspect.signature(OTTTLIFNode.__init__).parameters.values())[1:]
    assert [p.name for p in params][4:6] == ["surrogate_function", "detach_reset"]
    assert isinstance(params[4].default, Sigmoid)


def test_positional_arguments_mean_what_they_mean_in_the_reference():
    surrogate = Sigmoid(alpha=2.0)
    node = OTTTLIFNode(3.0, True, 0.5, 0.0, surrogate, False)
    assert node.tau == 3.0 and node.decay_input and node.v_threshold == 0.5 and node.v_reset == 0.0
    assert node.detach_reset is False
    assert isinstance(node.surrogate_function, Sigmoid) and node.surrogate_function.alpha == 2.0


def test_registry():
    assert layer.GradwithTrace is GradwithTrace and layer.OTTTSequential is OTTTSequential
    assert layer.ReplaceforGrad is ReplaceforGrad and layer.SpikeTraceOp is SpikeTraceOp
    assert neuron.OTTTLIFNode is OTTTLIFNode


def test_replace_for_grad():
    x = torch.randn(3, 4, requires_grad=True)
    x_r = torch.randn(3, 4, requires_grad=True)
    y = ReplaceforGrad.apply(x, x_r)
    assert torch.equal(y, x_r)
    g = torch.randn(3, 4)
    y.backward(g)
    assert torch.equal(x.grad, g) and torch.equal(x_r.grad, g)


def _pair(shape=(4, 6), seed=0):
    gen = torch.Generator().manual_seed(seed)
    spike = (torch.rand(shape, generator=gen) < 0.4).float().requires_grad_()
    trace = torch.rand(shape, generator=gen) * 2
    return spike, trace


def test_grad_with_trace_value_and_gradients():
    torch.manual_seed(0)
    module = nn.Linear(6, 3)
    spike, trace = _pair()
    trace.requires_grad_()
    weight = torch.randn(4, 3)
    out = GradwithTrace(module)([spike, trace])
    with torch.no_grad():
        assert_close(out, module(spike), "value is module(spike)")
    (out * weight).sum().backward()
    got = [module.weight.grad.clone(), module.bias.grad.clone(), spike.grad.clone(), trace.grad.clone()]

    module.zero_grad()
    direct_in = trace.detach().clone().requires_grad_()
    (module(direct_in) * weight).sum().backward()
    expected = [module.weight.grad, module.bias.grad, direct_in.grad, direct_in.grad]
    assert_close(got, expected, "gradients are those of module(trace)", rtol=1e-6)
    assert not torch.allclose(module(spike), module(trace))  # the two branches really differ


def test_spike_trace_op():
    pool = nn.AvgPool1d(2)
    spike, trace = _pair((2, 3, 6))
    trace.requires_grad_()
    out_spike, out_trace = SpikeTraceOp(pool)([spike, trace])
    assert_close([out_spike, out_trace], [pool(spike), pool(trace)], "both branches pooled")
    assert out_spike.requires_grad and not out_trace.requires_grad


def test_wrappers_reject_a_plain_tensor():
    with pytest.raises(TypeError, match=r"GradwithTrace.*\[spike, trace\]"):
        GradwithTrace(nn.Linear(2, 2))(torch.ones(1, 2))
    with pytest.raises(TypeError, match="SpikeTraceOp"):
        SpikeTraceOp(nn.Flatten())([torch.ones(1, 2)])


def test_ottt_sequential_wraps_after_the_neuron():
    torch.manual_seed(1)
    net = OTTTSequential(nn.Linear(5, 6), OTTTLIFNode(), nn.Dropout(0.0), nn.Linear(6, 2))
    x = torch.randn(3, 5) * 3
    out = net(x)
    functional.reset_net(net)
    lin1, node, drop, lin2 = net
    expected = GradwithTrace(lin2)(SpikeTraceOp(drop)(node(lin1(x))))
    assert_close(out, expected, "OTTTSequential vs explicit wrappers")
    assert list(net.state_dict()) == list(nn.Sequential(*net).state_dict())
    net.eval()
    functional.reset_net(net)
    assert isinstance(net(x), torch.Tensor)


def test_neuron_trace_and_outputs():
    node, plain = OTTTLIFNode(tau=2.0), LIFNode(tau=2.0, decay_input=False, v_reset=None, detach_reset=True)
    gen = torch.Generator().manual_seed(2)
    trace = torch.zeros(4, 5)
    keys = list(node.state_dict())
    for _ in range(6):
        x = torch.randn(4, 5, generator=gen) * 1.5 + 0.8
        spike, tr = node(x)
        expected_spike = plain(x)
        trace = trace * 0.5 + expected_spike
        assert_close([spike, tr], [expected_spike, trace], "spike and trace")
        assert not tr.requires_grad
    assert trace.sum() > 0
    assert list(node.state_dict()) == keys
    node.eval()
    assert isinstance(node(torch.randn(4, 5)), torch.Tensor)


def test_neuron_detaches_v_every_step():
    node = OTTTLIFNode()
    x = torch.randn(2, 3, requires_grad=True)
    node(x)
    assert node.v.grad_fn is not None
    spike, _ = node(torch.randn(2, 3, requires_grad=True))
    spike.sum().backward()
    assert x.grad is None  # the second step's graph stops at its own detached v


def test_neuron_is_single_step_only():
    with pytest.raises(ValueError, match="OTTTLIFNode"):
        OTTTLIFNode(step_mode="m")


def test_online_training_one_backward_per_step():
    torch.manual_seed(0)
    net = OTTTSequential(
        nn.Conv2d(1, 4, 3, padding=1), OTTTLIFNode(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.rand(4, 1, 8, 8) * 3
    target = torch.tensor([0, 1, 2, 1])
    before = [p.detach().clone() for p in net.parameters()]
    conv_grad_seen = False
    for _ in range(3):
        functional.reset_net(net)
        for _t in range(4):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(x), target)
            loss.backward()  # one backward per step, no retain_graph
            conv_grad_seen |= bool(net[0].weight.grad.abs().sum() > 0)
            optimizer.step()
    assert conv_grad_seen, "no gradient reached the convolution through the neuron"
    assert all(not torch.equal(b, p) for b, p in zip(before, net.parameters()))
