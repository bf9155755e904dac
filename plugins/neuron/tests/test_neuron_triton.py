"""The Triton kernels against the readable reference over the kernel-test grid (``T``,
float32 and bfloat16, odd shapes): on triton's CPU interpreter, or on a GPU when
``SPIKELAYERS_TEST_DEVICE=cuda``."""

from spikelayers.testing import triton_test_device

DEVICE = triton_test_device()

import pytest
import torch

pytest.importorskip("triton")

from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron.dynamics import NeuronConfig
from spikelayers_neuron.kernel_checks import KernelRun, loss_weights
from spikelayers_neuron.node import LIFNode, ParametricLIFNode
from spikelayers_neuron.reference import reference_multi_step
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid
from spikelayers_neuron.triton_kernel import BLOCK, TritonNeuronFunction, neuron_multi_step_triton, supports

SURROGATES = {"sigmoid": Sigmoid(), "atan": ATan(alpha=3.0), "pwq": PiecewiseQuadratic(alpha=0.8)}
# (kind, v_reset, detach_reset, decay_input, surrogate, store_v_seq)
CONFIGS = [
    ("if", 0.0, False, True, "sigmoid", False),
    ("if", None, True, True, "atan", True),
    ("lif", 0.0, False, True, "atan", False),
    ("lif", -0.3, False, False, "pwq", True),
    ("lif", None, False, True, "sigmoid", False),
    ("plif", 0.0, False, True, "sigmoid", False),
    ("plif", None, True, False, "atan", True),
    ("plif", -0.2, False, True, "pwq", False),
    ("plif", 0.0, True, True, "sigmoid", True),
]
# Odd shapes with size-1 dims; the last one's 1041 positions span several kernel blocks.
SHAPES = [(1,), (2, 1, 7), (3, 1, 347)]
# At most this fraction of the spikes may differ from the reference's; the neurons where
# one does are left out of the comparison (their membrane potentials part ways after it).
MAX_FLIPPED = {torch.float32: 1e-3, torch.bfloat16: 1e-2}


def _config_id(config):
    kind, reset, detach, decay, surrogate, store = config
    reset = "soft" if reset is None else f"hard{reset:g}"
    flags = [f for f, on in (("detach", detach), ("decay", decay and kind != "if"), ("store", store)) if on]
    return "-".join([kind, reset, surrogate, *flags])


def _inputs(kind, T, shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn((T, *shape), generator=g) * 2.0 + 0.8).to(DEVICE, dtype)
    v0 = (torch.rand(shape, generator=g) * 0.8).to(DEVICE, dtype)
    k = torch.tensor(0.4, device=DEVICE) if kind == "plif" else (None if kind == "if" else 1 / 3)
    return x, v0, k


@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("T", KERNEL_TEST_STEPS, ids=lambda t: f"T{t}")
@pytest.mark.parametrize(
    ("kind", "reset", "detach", "decay", "surrogate", "store"), CONFIGS, ids=map(_config_id, CONFIGS)
)
def test_triton_matches_reference(kind, reset, detach, decay, surrogate, store, T, dtype):
    config = NeuronConfig(kind, 1.0, reset, detach, SURROGATES[surrogate], decay, store)
    assert supports(config)
    tol = kernel_tolerance(dtype)
    name = _config_id((kind, reset, detach, decay, surrogate, store))
    flipped = fired = total = nonzero = 0
    for seed, shape in enumerate(SHAPES):
        label = f"{name} T={T} {dtype} {shape}"
        x, v0, k = _inputs(kind, T, shape, dtype, seed)
        got = KernelRun(TritonNeuronFunction.apply, x, v0, k, config)
        ref = KernelRun(reference_multi_step, x.float(), v0.float(), k, config)
        assert got.spikes.dtype == dtype and got.v.dtype == dtype, f"{label}: outputs in {got.v.dtype}"
        assert got.v.shape == ref.v.shape, f"{label}: potential of shape {tuple(got.v.shape)}"
        differs = got.spikes.detach().float() != ref.spikes.detach()
        flipped, total = flipped + differs.sum().item(), total + differs.numel()
        fired += ref.spikes.detach().sum().item()
        keep = ~differs.any(dim=0)

        what = "potential sequence" if store else "final potential"
        got_v, ref_v = got.v.detach().float(), ref.v.detach()
        assert_close(got_v[..., keep], ref_v[..., keep], f"{label}: {what}", rtol=tol, atol=tol)
        got_final, ref_final = (got_v[-1], ref_v[-1]) if store else (got_v, ref_v)
        assert_close(got_final[keep], ref_final[keep], f"{label}: final state", rtol=tol, atol=tol)

        # Every gradient over every position: a neuron left out has zero upstream gradient.
        w_s, w_v = loss_weights(x.shape, got.v.shape, keep, seed)
        got_grads, ref_grads = got.backward(w_s, w_v), ref.backward(w_s, w_v)
        leaves = ["input", "initial state", "k"][: len(ref_grads)]
        for leaf, a, b in zip(leaves, got_grads, ref_grads, strict=True):
            assert_close(a.float(), b, f"{label}: gradient of the {leaf}", rtol=tol, atol=tol)
        nonzero += ref_grads[0].count_nonzero().item()
    assert flipped <= MAX_FLIPPED[dtype] * total, f"{flipped} of {total} spikes differ from the float32 reference"
    assert 0.05 * total < fired < 0.95 * total, f"{fired} of {total} steps fired: too few or too many to test"
    assert nonzero > total / 2, f"only {nonzero} of {total} input gradients are not zero"


def test_the_shapes_span_more_than_one_block():
    assert max(torch.Size(shape).numel() for shape in SHAPES) > max(BLOCK, 1024)


def test_triton_backend_through_the_module():
    x = (torch.randn(4, 3, 10) * 2 + 0.5).to(DEVICE)
    for cls in (LIFNode, ParametricLIFNode):
        fast, slow = cls(step_mode="m", backend="triton").to(DEVICE), cls(step_mode="m").to(DEVICE)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        fast(xa).sum().backward()
        slow(xb).sum().backward()
        got, want = [fast.v, xa.grad], [slow.v, xb.grad]
        if cls is ParametricLIFNode:
            got, want = [*got, fast.w.grad], [*want, slow.w.grad]
        assert_close(got, want, f"{cls.__name__}: triton vs torch", rtol=1e-5, atol=1e-5)


def test_custom_surrogate_falls_back_to_torch():
    class Custom(torch.nn.Module):
        def forward(self, x):
            return Sigmoid()(x)

    config = NeuronConfig("lif", 1.0, 0.0, False, Custom())
    assert not supports(config)
    x = torch.randn(3, 4) + 0.8
    w_s, w_v = loss_weights(x.shape, (4,), torch.ones(4, dtype=torch.bool), 0)
    got, ref = (
        KernelRun(fn, x, torch.zeros(4), 0.5, config) for fn in (neuron_multi_step_triton, reference_multi_step)
    )
    assert_close([got.spikes, got.v], [ref.spikes, ref.v], "fallback", rtol=1e-5, atol=1e-6)
    assert_close(got.backward(w_s, w_v), ref.backward(w_s, w_v), "fallback gradients", rtol=1e-5, atol=1e-6)
