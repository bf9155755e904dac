"""The fused multi-step function against the readable per-step reference."""

import itertools

import pytest
import torch

from spikelayers.testing import assert_close
from spikelayers_neuron.dynamics import NeuronConfig
from spikelayers_neuron.fused import FusedNeuronFunction, neuron_multi_step
from spikelayers_neuron.node import IFNode, LIFNode, ParametricLIFNode
from spikelayers_neuron.ops import blocks
from spikelayers_neuron.reference import reference_multi_step
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid, SurrogateFunctionBase

SURROGATES = {"sigmoid": Sigmoid(), "atan": ATan(alpha=3.0), "pwq": PiecewiseQuadratic(alpha=0.8)}
RESETS = {"hard0": 0.0, "hard-0.3": -0.3, "soft": None}
RUNS = [(1, (3,)), (2, (2, 5)), (7, (1, 3, 2, 3)), (16, (2, 5)), (7, (5,))]  # (T, one step's shape)
TOL = {torch.float32: 2e-5, torch.float64: 1e-10}

CONFIGS = [
    (kind, reset, detach, decay, surrogate)
    for kind, reset, detach, decay, surrogate in itertools.product(
        ("if", "lif", "plif"), RESETS, (False, True), (True, False), SURROGATES
    )
    if kind != "if" or decay
]


def _inputs(T, shape, dtype, kind, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn((T, *shape), generator=g, dtype=torch.float64) * 2.0 + 0.8).to(dtype).requires_grad_()
    v0 = (torch.rand(shape, generator=g, dtype=torch.float64) * 0.8).to(dtype).requires_grad_()
    k = torch.tensor(0.4, dtype=dtype, requires_grad=True) if kind == "plif" else (None if kind == "if" else 1 / 3)
    return x, v0, k


def _run(fn, x, v0, k, config, seed):
    x, v0 = x.detach().clone().requires_grad_(), v0.detach().clone().requires_grad_()
    k = k.detach().clone().requires_grad_() if isinstance(k, torch.Tensor) else k
    spikes, v = fn(x, v0, k, config)
    if not config.store_v_seq and v.dim() == x.dim():  # the reference always returns v_seq
        v = v[-1]
    g = torch.Generator().manual_seed(seed + 7)
    loss = (spikes * torch.randn(spikes.shape, generator=g, dtype=spikes.dtype)).sum()
    loss = loss + (v * torch.randn(v.shape, generator=g, dtype=v.dtype)).sum()
    loss.backward()
    grads = [x.grad, v0.grad] + ([k.grad] if isinstance(k, torch.Tensor) else [])
    return [spikes, v], grads


@pytest.mark.parametrize(("kind", "reset", "detach", "decay", "surrogate"), CONFIGS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_matches_reference(kind, reset, detach, decay, surrogate, dtype):
    fired = 0
    for seed, (T, shape) in enumerate(RUNS):
        for store in (seed % 2 == 1,):
            config = NeuronConfig(kind, 1.0, RESETS[reset], detach, SURROGATES[surrogate], decay, store)
            x, v0, k = _inputs(T, shape, dtype, kind, seed)
            out, grads = _run(FusedNeuronFunction.apply, x, v0, k, config, seed)
            ref_out, ref_grads = _run(reference_multi_step, x, v0, k, config, seed)
            label = f"{kind} {reset} detach={detach} decay={decay} {surrogate} T={T} {shape} store={store}"
            fired += int(out[0].sum())
            tol = TOL[dtype]
            assert_close(out, ref_out, f"{label}: outputs", rtol=tol, atol=tol)
            assert_close(grads, ref_grads, f"{label}: gradients (x, v0[, k])", rtol=tol * 10, atol=tol * 10)
    assert fired > 30, "too few spikes: the comparison would not exercise the reset"


def test_fused_only_spike_gradient():
    """A loss on the spikes alone (no gradient for v) still gives the reference's gradients."""
    config = NeuronConfig("lif", 1.0, 0.0, False, Sigmoid())
    x, v0, _ = _inputs(5, (4,), torch.float64, "lif", 3)
    s = FusedNeuronFunction.apply(x, v0, 0.5, config)[0]
    s.sum().backward()
    x2, v2 = x.detach().clone().requires_grad_(), v0.detach().clone().requires_grad_()
    reference_multi_step(x2, v2, 0.5, config)[0].sum().backward()
    assert_close([x.grad, v0.grad], [x2.grad, v2.grad], "spike-only loss", rtol=1e-10, atol=1e-12)


def test_fused_saves_only_the_pre_spike_potentials():
    config = NeuronConfig("lif", 1.0, 0.0, False, Sigmoid())
    x = torch.randn(4, 3, requires_grad=True)
    s, _ = FusedNeuronFunction.apply(x, torch.zeros(3), 0.5, config)
    assert s.grad_fn.saved_tensors == ()
    assert [tuple(h.shape) for h in s.grad_fn.h_steps] == [(3,)] * 4


def test_custom_surrogate_falls_back_to_loop():
    """A surrogate without ``derivative`` runs as a differentiable loop and still matches."""

    class Scaled(torch.nn.Module):
        def forward(self, x):
            return Sigmoid()(x) * 1.0

    class NoDerivative(SurrogateFunctionBase):
        def __init__(self):
            super().__init__(alpha=1.0)

        def forward(self, x):
            return Sigmoid()(x)

    for surrogate in (Scaled(), NoDerivative(), Sigmoid(spiking=False)):
        config = NeuronConfig("lif", 1.0, 0.0, False, surrogate)
        x, v0, _ = _inputs(4, (3,), torch.float64, "lif", 1)
        out, grads = _run(neuron_multi_step, x, v0, 0.5, config, 1)
        ref_out, ref_grads = _run(reference_multi_step, x, v0, 0.5, config, 1)
        assert_close(out + grads, ref_out + ref_grads, f"fallback with {type(surrogate).__name__}", rtol=1e-10)


def test_non_contiguous_input():
    config = NeuronConfig("if", 1.0, None, False, ATan())
    base = torch.randn(3, 6, 4, dtype=torch.float64) + 0.5
    x = base.transpose(1, 2)
    s, v = FusedNeuronFunction.apply(x, torch.zeros(3, 4, 6, dtype=torch.float64)[0], None, config)
    ref_s, ref_v = reference_multi_step(x.contiguous(), torch.zeros(4, 6, dtype=torch.float64), None, config)
    assert_close([s, v], [ref_s, ref_v[-1]], "strided input", rtol=1e-12)


@pytest.mark.parametrize(("kind", "reset", "detach", "decay"), [c[:4] for c in CONFIGS if c[4] == "atan"])
def test_fused_matches_reference_across_column_blocks(kind, reset, detach, decay, monkeypatch):
    """Several column blocks (the last one partial) give the reference's numbers."""
    monkeypatch.setattr(blocks, "CPU_BLOCK_BYTES", 64 * 8)
    assert len(blocks.column_blocks(3 * 50, 8, "cpu")) == 3
    for seed, store in enumerate((False, True)):
        config = NeuronConfig(kind, 1.0, RESETS[reset], detach, SURROGATES["atan"], decay, store)
        x, v0, k = _inputs(6, (3, 50), torch.float64, kind, seed)
        out, grads = _run(FusedNeuronFunction.apply, x, v0, k, config, seed)
        ref_out, ref_grads = _run(reference_multi_step, x, v0, k, config, seed)
        label = f"{kind} {reset} detach={detach} decay={decay} store={store}, 3 column blocks"
        assert_close(out, ref_out, f"{label}: outputs", rtol=1e-10, atol=1e-10)
        assert_close(grads, ref_grads, f"{label}: gradients (x, v0[, k])", rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("cls", [IFNode, LIFNode, ParametricLIFNode])
def test_surrogate_subclass_with_its_own_forward_runs_its_own_maths(cls):
    """A surrogate subclass that moves the threshold in ``forward`` (and keeps its parent's
    derivative) must not run the fused kernel, which fires at ``h >= v_threshold``."""

    class Shifted(Sigmoid):
        def forward(self, x):
            return super().forward(x - 0.1)

    x = torch.full((3, 2, 4), 2.1)  # charges to 1.05 (LIF/PLIF) or 2.1 (IF): between the two thresholds for LIF
    x[:, 1] = 1.0 + torch.linspace(0.0, 0.2, 4)
    for mode in ("m", "s"):
        node = cls(surrogate_function=Shifted(), step_mode=mode)
        xa = x.clone().requires_grad_()
        spikes = node(xa) if mode == "m" else torch.stack([node(step) for step in xa])
        (spikes * torch.arange(spikes.numel()).view_as(spikes)).sum().backward()
        ref_x = x.clone().requires_grad_()
        config = node.config(False)
        ref, _ = reference_multi_step(ref_x, torch.zeros(2, 4), node.decay(), config)
        (ref * torch.arange(ref.numel()).view_as(ref)).sum().backward()
        assert_close(
            [spikes, xa.grad], [ref, ref_x.grad], f"{cls.__name__} ({mode}) with Shifted", rtol=1e-5, atol=1e-6
        )
