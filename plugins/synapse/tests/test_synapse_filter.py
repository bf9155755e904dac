"""SynapseFilter: the fused function against the readable loop, the layer's behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from spikelayers import functional
from spikelayers.errors import StateShapeError
from spikelayers.testing import assert_close, check_signature
from spikelayers_synapse.filter import LowPassSynapse, SynapseFilter
from spikelayers_synapse.fused import synapse_filter
from spikelayers_synapse.reference import reference_synapse_filter

SHAPES = [(3,), (2, 5), (3, 1, 7), (1, 2, 3, 5)]


def _inputs(T, shape, dtype, spikes, seed=0):
    g = torch.Generator().manual_seed(seed)
    if spikes:
        x = (torch.rand((T, *shape), generator=g) < 0.4).to(dtype)
    else:
        x = torch.randn((T, *shape), generator=g, dtype=dtype)
    i0 = torch.randn(shape, generator=g, dtype=dtype)
    return x.requires_grad_(True), i0.requires_grad_(True)


@pytest.mark.parametrize("T", [1, 2, 7, 16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_matches_reference(T, shape, learnable, dtype):
    spikes = len(shape) % 2 == 0
    x, i0 = _inputs(T, shape, dtype, spikes)
    w = torch.tensor(-math.log(3.0 - 1.0), dtype=dtype, requires_grad=True)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    results = []
    for fn in (synapse_filter, reference_synapse_filter):
        xs, i0s = x.detach().clone().requires_grad_(True), i0.detach().clone().requires_grad_(True)
        ws = w.detach().clone().requires_grad_(True)
        decay = torch.sigmoid(ws) if learnable else 1.0 / 3.0
        y = fn(xs, i0s, decay)
        weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(5), dtype=dtype)
        (y * weight).sum().backward()
        results.append((y.detach(), xs.grad, i0s.grad, ws.grad))
    (y_f, gx_f, gi_f, gw_f), (y_r, gx_r, gi_r, gw_r) = results
    assert_close(y_f, y_r, "output", rtol=tol, atol=tol)
    assert_close(y_f[-1], y_r[-1], "final state", rtol=tol, atol=tol)
    assert_close(gx_f, gx_r, "input gradient", rtol=tol, atol=tol)
    assert_close(gi_f, gi_r, "initial-state gradient", rtol=tol, atol=tol)
    if learnable:
        assert_close(gw_f, gw_r, "gradient of w", rtol=1e-4 if dtype == torch.float32 else 1e-10, atol=tol)
    else:
        assert gw_f is None and gw_r is None


@pytest.mark.parametrize("T", [1, 3])
def test_gradcheck_float64(T):
    x, i0 = _inputs(T, (2, 3), torch.float64, spikes=False)
    w = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: synapse_filter(a, b, torch.sigmoid(c)), (x, i0, w))
    assert torch.autograd.gradcheck(lambda a, b: synapse_filter(a, b, 0.2), (x, i0))


def test_no_graph_per_step():
    x, i0 = _inputs(9, (4,), torch.float32, spikes=True)
    y = synapse_filter(x, i0, 0.1)
    assert type(y.grad_fn).__name__ != "StackBackward0"
    assert y.grad_fn.next_functions[0][0] is not None


def test_layer_formula_single_step():
    layer = SynapseFilter(tau=4.0)
    x = (torch.rand(5, 2, 3) < 0.5).float()
    current = torch.zeros(2, 3)
    for s in x:
        current = current - (1 - s) * current / 4.0 + s
        assert_close(layer(s), current, "single step")
    assert_close(layer.I, current, "memory I")


@pytest.mark.parametrize("learnable", [False, True])
def test_chunks_equal_one_call(learnable):
    torch.manual_seed(0)
    whole = SynapseFilter(tau=5.0, learnable=learnable, step_mode="m")
    chunked = SynapseFilter(tau=5.0, learnable=learnable, step_mode="m")
    x = torch.randn(7, 3, 4)
    y = whole(x)
    y_chunks = torch.cat([chunked(x[:3]), chunked(x[3:])])
    assert_close(y_chunks, y, "chunked output")
    assert_close(chunked.I, whole.I, "final state")


def test_learnable_parametrisation():
    layer = SynapseFilter(tau=7.0, learnable=True)
    assert isinstance(layer.w, torch.nn.Parameter)
    assert layer.w.item() == pytest.approx(-math.log(6.0))
    assert torch.sigmoid(layer.w).item() == pytest.approx(1 / 7.0)
    assert "w" in dict(layer.named_parameters())
    assert list(SynapseFilter(tau=7.0).parameters()) == []


@pytest.mark.parametrize("tau", [1.0, 0.5, -2.0])
@pytest.mark.parametrize("learnable", [False, True])
def test_tau_must_exceed_one(tau, learnable):
    with pytest.raises(ValueError, match="SynapseFilter"):
        SynapseFilter(tau=tau, learnable=learnable)


def test_signature_and_alias():
    check_signature(SynapseFilter)
    assert LowPassSynapse is SynapseFilter
    from spikelayers import layer

    assert layer.LowPassSynapse is layer.SynapseFilter is SynapseFilter


def test_batch_change_without_reset_raises():
    layer = SynapseFilter(step_mode="m")
    layer(torch.rand(3, 2, 4))
    with pytest.raises(StateShapeError, match="reset_net"):
        layer(torch.rand(3, 5, 4))
    functional.reset_net(layer)
    assert layer(torch.rand(3, 5, 4)).shape == (3, 5, 4)


def test_multi_step_rejects_missing_time_dim():
    layer = SynapseFilter(step_mode="m")
    with pytest.raises(ValueError, match=r"SynapseFilter.*\[T, N, \*\]"):
        layer(torch.rand(4))


def test_reference_example():
    # The reference's example without the plotting calls; only the import differs.
    from spikelayers.layer import LowPassSynapse

    T = 50
    in_spikes = (torch.rand(size=[T]) >= 0.95).float()
    lp_syn = LowPassSynapse(tau=10.0)
    out_i = []
    for i in range(T):
        out_i.append(lp_syn(in_spikes[i]))

    expected, current = [], 0.0
    for s in in_spikes.tolist():
        current = current - (1 - s) * current / 10.0 + s
        expected.append(current)
    assert_close(torch.stack(out_i), torch.tensor(expected), "example output")


def test_after_if_neurons():
    pytest.importorskip("spikelayers_neuron")
    from spikelayers import neuron

    torch.manual_seed(0)
    net = torch.nn.Sequential(neuron.IFNode(), SynapseFilter(tau=4.0))
    functional.set_step_mode(net, "m")
    x = (torch.rand(6, 2, 3) * 1.5).requires_grad_(True)
    y = net(x)
    functional.reset_net(net)
    spikes = net[0](x)
    expected = reference_synapse_filter(spikes, torch.zeros(2, 3), 0.25)
    assert_close(y, expected, "IFNode then SynapseFilter")
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("learnable", [False, True])
def test_fused_over_several_blocks(monkeypatch, learnable):
    from spikelayers_synapse import fused

    monkeypatch.setattr(fused, "BLOCK", 7)
    x, i0 = _inputs(5, (3, 10), torch.float64, spikes=False)
    w = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)

    def decay():
        return torch.sigmoid(w) if learnable else 0.3

    y = synapse_filter(x, i0, decay())
    inputs = (x, i0, w) if learnable else (x, i0)
    grads = torch.autograd.grad(y.sum(), inputs)  # an expanded (non-contiguous) incoming gradient
    y_ref = reference_synapse_filter(x, i0, decay())
    grads_ref = torch.autograd.grad(y_ref.sum(), inputs)
    assert_close(y, y_ref, "output", rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, grads_ref):
        assert_close(got, want, "gradient", rtol=1e-10, atol=1e-12)
