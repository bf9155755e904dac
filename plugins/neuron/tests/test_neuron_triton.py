"""The Triton kernels against the readable reference: on triton's CPU interpreter, or on a
GPU when ``SPIKELAYERS_TEST_DEVICE=cuda``."""

import os

DEVICE = os.environ.get("SPIKELAYERS_TEST_DEVICE", "cpu")
if DEVICE == "cpu":
    os.environ["TRITON_INTERPRET"] = "1"

import pytest
import torch

pytest.importorskip("triton")

from spikelayers.testing import assert_close
from spikelayers_neuron.dynamics import NeuronConfig
from spikelayers_neuron.node import LIFNode, ParametricLIFNode
from spikelayers_neuron.reference import reference_multi_step
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid
from spikelayers_neuron.triton_kernel import TritonNeuronFunction, neuron_multi_step_triton

SURROGATES = {"sigmoid": Sigmoid(), "atan": ATan(alpha=3.0), "pwq": PiecewiseQuadratic(alpha=0.8)}
CONFIGS = [
    ("if", 0.0, False, True, "sigmoid", False),
    ("if", None, True, True, "atan", True),
    ("lif", 0.0, False, True, "atan", False),
    ("lif", -0.3, False, False, "pwq", True),
    ("lif", None, False, True, "sigmoid", False),
    ("plif", 0.0, False, True, "sigmoid", False),
    ("plif", None, True, False, "atan", True),
    ("plif", -0.2, False, True, "pwq", False),
]


def _run(fn, x, v0, k, config, seed):
    x, v0 = x.detach().clone().requires_grad_(), v0.detach().clone().requires_grad_()
    k = k.detach().clone().requires_grad_() if isinstance(k, torch.Tensor) else k
    spikes, v = fn(x, v0, k, config)
    if not config.store_v_seq and v.dim() == x.dim():
        v = v[-1]
    g = torch.Generator().manual_seed(seed)
    loss = (spikes.float() * torch.randn(spikes.shape, generator=g).to(spikes.device)).sum()
    loss = loss + (v.float() * torch.randn(v.shape, generator=g).to(v.device)).sum()
    loss.backward()
    return [spikes, v], [x.grad, v0.grad] + ([k.grad] if isinstance(k, torch.Tensor) else [])


@pytest.mark.parametrize(("kind", "reset", "detach", "decay", "surrogate", "store"), CONFIGS)
def test_triton_matches_reference_float32(kind, reset, detach, decay, surrogate, store):
    config = NeuronConfig(kind, 1.0, reset, detach, SURROGATES[surrogate], decay, store)
    for seed, (T, shape) in enumerate([(1, (3,)), (7, (2, 5, 3)), (2, (300,))]):
        g = torch.Generator().manual_seed(seed)
        x = (torch.randn((T, *shape), generator=g) * 2.0 + 0.8).to(DEVICE)
        v0 = (torch.rand(shape, generator=g) * 0.8).to(DEVICE)
        k = torch.tensor(0.4, device=DEVICE) if kind == "plif" else (None if kind == "if" else 1 / 3)
        out, grads = _run(TritonNeuronFunction.apply, x, v0, k, config, seed)
        ref_out, ref_grads = _run(reference_multi_step, x, v0, k, config, seed)
        label = f"{kind} reset={reset} detach={detach} decay={decay} {surrogate} T={T} {shape}"
        assert_close(out, ref_out, f"{label}: outputs", rtol=1e-5, atol=1e-5)
        assert_close(grads, ref_grads, f"{label}: gradients", rtol=1e-4, atol=1e-4)


def test_triton_bfloat16_close_to_float32():
    config = NeuronConfig("lif", 1.0, 0.0, False, Sigmoid(), True, False)
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(5, 4, 64, generator=g) * 2.0 + 0.8).to(DEVICE, torch.bfloat16)
    v0 = torch.zeros(4, 64, dtype=torch.bfloat16, device=DEVICE)
    out, grads = _run(TritonNeuronFunction.apply, x, v0, 0.5, config, 1)
    ref_out, ref_grads = _run(reference_multi_step, x.float(), v0.float(), 0.5, config, 1)
    assert out[0].dtype == torch.bfloat16 and grads[0].dtype == torch.bfloat16
    flipped = (out[0].float() != ref_out[0]).float().mean().item()
    assert flipped < 0.01, f"{flipped:.2%} of the spikes differ from float32"
    assert_close(grads[0].float(), ref_grads[0], "bfloat16 input gradient", rtol=0.05, atol=0.05)


def test_triton_backend_through_the_module():
    x = (torch.randn(4, 3, 10) * 2 + 0.5).to(DEVICE)
    for cls in (LIFNode, ParametricLIFNode):
        fast, slow = cls(step_mode="m", backend="triton").to(DEVICE), cls(step_mode="m").to(DEVICE)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        fast(xa).sum().backward()
        slow(xb).sum().backward()
        assert_close([fast.v, xa.grad], [slow.v, xb.grad], f"{cls.__name__}: triton vs torch", rtol=1e-5, atol=1e-5)


def test_custom_surrogate_falls_back_to_torch():
    class Custom(torch.nn.Module):
        def forward(self, x):
            return Sigmoid()(x)

    config = NeuronConfig("lif", 1.0, 0.0, False, Custom())
    x = torch.randn(3, 4) + 0.8
    out, grads = _run(neuron_multi_step_triton, x, torch.zeros(4), 0.5, config, 0)
    ref_out, ref_grads = _run(reference_multi_step, x, torch.zeros(4), 0.5, config, 0)
    assert_close(out + grads, ref_out + ref_grads, "fallback", rtol=1e-5, atol=1e-6)
