"""The DSR neurons: the fast autograd functions against the readable references, and
the behaviour the reference documents."""

import inspect

import pytest
import torch

from spikelayers import functional
from spikelayers.kernels import cxx_compiler
from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron.dsr import DSRIFNode, DSRLIFNode
from spikelayers_neuron.ops import blocks
from spikelayers_neuron.ops.dsr.fused import DSRIFFunction, DSRLIFFunction, weighted_rate
from spikelayers_neuron.ops.dsr.inductor_kernel import InductorDSRIFFunction, InductorDSRLIFFunction
from spikelayers_neuron.ops.dsr.reference import DSRIFReference, DSRLIFReference, weighted_rate_reference

needs_compiler = pytest.mark.skipif(cxx_compiler() is None, reason="no C++ compiler for torch.compile on CPU")
# The fast paths: the PyTorch kernels and the compiled ('inductor') ones.
IF_KERNELS = [DSRIFFunction, pytest.param(InductorDSRIFFunction, marks=needs_compiler)]
LIF_KERNELS = [DSRLIFFunction, pytest.param(InductorDSRLIFFunction, marks=needs_compiler)]


def _run(fn, x, v_th, args, seed=3):
    x = x.detach().clone().requires_grad_()
    v_th = v_th.detach().clone().requires_grad_()
    out = fn(x, args[0], v_th, *args[1:])
    g = torch.Generator().manual_seed(seed)
    (out.float() * torch.randn(out.shape, generator=g)).sum().backward()
    return out, [x.grad, v_th.grad]


def _sequence(T, dtype, scale, shift, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn((T, 3, 4, 5), generator=g) * scale + shift).to(dtype)


@pytest.mark.parametrize("kernel", IF_KERNELS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_dsr_if_matches_reference(kernel, T, dtype):
    x = _sequence(T, dtype, 1.5, 0.4, T)
    v_th = torch.tensor(0.8)
    args = (T, 0.5, 1.7)  # T, alpha, grad scaling
    out, grads = _run(kernel.apply, x, v_th, args)
    ref, ref_grads = _run(DSRIFReference.apply, x, v_th, args)
    tol = kernel_tolerance(dtype)
    assert out.dtype == dtype
    assert_close(out, ref, f"DSRIF T={T} {dtype}: spikes", rtol=tol, atol=tol)
    assert_close(grads, ref_grads, f"DSRIF T={T} {dtype}: gradients (x, v_threshold)", rtol=tol, atol=tol)
    assert set(out.unique().tolist()) <= {0.0, torch.tensor(0.8, dtype=dtype).item()}
    assert (out != 0).any() and (out == 0).any()
    assert (grads[0] != 0).any() and (grads[0] == 0).any(), "the rate window must be exercised on both sides"


@pytest.mark.parametrize("kernel", LIF_KERNELS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_dsr_lif_matches_reference(kernel, T, dtype):
    x = _sequence(T, dtype, 30.0, 15.0, T)
    v_th = torch.tensor(0.5)
    args = (T, 2.0, 0.05, 0.3, 0.8)  # T, tau, delta_t, alpha, grad scaling
    out, grads = _run(kernel.apply, x, v_th, args)
    ref, ref_grads = _run(DSRLIFReference.apply, x, v_th, args)
    tol = kernel_tolerance(dtype)
    assert out.dtype == dtype
    assert_close(out, ref, f"DSRLIF T={T} {dtype}: spikes", rtol=tol, atol=tol)
    assert_close(grads, ref_grads, f"DSRLIF T={T} {dtype}: gradients (x, v_threshold)", rtol=tol, atol=tol)
    if T > 1:
        assert (out != 0).any() and (out == 0).any()


@pytest.mark.parametrize(
    ("fast", "reference", "args", "scale", "shift"),
    [
        (DSRIFFunction.apply, DSRIFReference.apply, (6, 0.5, 1.7), 1.5, 0.4),
        (DSRLIFFunction.apply, DSRLIFReference.apply, (6, 2.0, 0.05, 0.3, 0.8), 30.0, 15.0),
    ],
)
def test_dsr_matches_reference_across_column_blocks(fast, reference, args, scale, shift, monkeypatch):
    """Several column blocks (the last one partial) give the reference's numbers."""
    monkeypatch.setattr(blocks, "CPU_BLOCK_BYTES", 64 * 4)
    assert len(blocks.column_blocks(3 * 50, 4, "cpu")) == 3
    g = torch.Generator().manual_seed(5)
    x = torch.randn((6, 3, 50), generator=g) * scale + shift
    out, grads = _run(fast, x, torch.tensor(0.8), args)
    ref, ref_grads = _run(reference, x, torch.tensor(0.8), args)
    assert (out != 0).any() and (out == 0).any()
    assert_close(out, ref, "spikes over 3 column blocks", rtol=1e-6, atol=1e-6)
    assert_close(grads, ref_grads, "gradients over 3 column blocks", rtol=1e-6, atol=1e-6)


@needs_compiler
@pytest.mark.parametrize("cls", [DSRIFNode, DSRLIFNode])
def test_inductor_backend_through_the_module(cls):
    """``backend='inductor'`` gives the ``'torch'`` backend's spikes and gradients; a single
    neuron and a CUDA-only device are handled as the registry says."""
    T = 6
    x = torch.randn(T, 4, 9) * 30.0 + 15.0 if cls is DSRLIFNode else torch.randn(T, 4, 9) * 1.5 + 0.4
    fast, slow = cls(T=T, v_threshold_training=True), cls(T=T, v_threshold_training=True)
    functional.set_backend(fast, "inductor")
    assert fast.backend == "inductor"
    results = []
    for node in (fast, slow):
        xs = x.clone().requires_grad_()
        out = node(xs)
        (out * torch.arange(out.numel()).view_as(out)).sum().backward()
        results.append([out, xs.grad, node.v_threshold.grad])
    assert (results[0][0] != 0).any() and (results[0][0] == 0).any()
    assert_close(results[0], results[1], f"{cls.__name__}: inductor vs torch", rtol=1e-5, atol=1e-5)
    single = cls(T=T, backend="inductor")
    assert_close(single(x[:, :1, :1]), slow(x[:, :1, :1]), "one neuron", rtol=0, atol=0)


def test_weighted_rate_matches_its_reference():
    data = torch.randn(7, 3, 2)
    weights = torch.exp(-(0.1 * 7 - torch.arange(1, 8) * 0.1) / 3.0)
    expected = (weights.view(-1, 1, 1) * data).sum(0) / weights.sum()
    assert_close(weighted_rate(data, 3.0, 0.1), expected, "weighted rate", rtol=1e-6, atol=1e-6)
    assert_close(weighted_rate_reference(data, 3.0, 0.1), expected, "reference weighted rate", rtol=1e-6, atol=1e-6)
    assert_close(DSRLIFNode.weight_rate_spikes(data, 3.0, 0.1), expected, "classmethod", rtol=1e-6, atol=1e-6)


def test_dsr_if_forward_and_backward_by_hand():
    x = torch.tensor([[0.6], [0.6], [0.6], [-0.2]], requires_grad=True)  # one neuron, T=4
    node = DSRIFNode(T=4, v_threshold=1.0, alpha=0.5)
    out = node(x)
    # m: 0.6 -> fires (>= 0.5) -> -0.4; 0.2; 0.8 -> fires -> -0.2; -0.4
    assert out.flatten().tolist() == [1.0, 0.0, 1.0, 0.0]
    out.sum().backward()
    # rate = 0.4 lies in [0, 1]: every step gets sum(grad_out) / T = 1
    assert x.grad.flatten().tolist() == [1.0, 1.0, 1.0, 1.0]
    assert node.v_threshold.grad.item() == 0.0


def test_signatures_and_defaults_follow_the_reference():
    def params(cls):
        return {n: p.default for n, p in inspect.signature(cls).parameters.items()}

    assert params(DSRIFNode) == {
        "T": 20,
        "v_threshold": 6.0,
        "alpha": 0.5,
        "v_threshold_training": True,
        "v_threshold_grad_scaling": 1.0,
        "v_threshold_lower_bound": 0.01,
        "step_mode": "m",
        "backend": "torch",
        "kwargs": inspect.Parameter.empty,
    }
    assert params(DSRLIFNode) == {
        "T": 20,
        "v_threshold": 1.0,
        "tau": 2.0,
        "delta_t": 0.05,
        "alpha": 0.3,
        "v_threshold_training": True,
        "v_threshold_grad_scaling": 1.0,
        "v_threshold_lower_bound": 0.1,
        "step_mode": "m",
        "backend": "torch",
        "kwargs": inspect.Parameter.empty,
    }
    assert DSRIFNode.DSRIFFunction is DSRIFFunction and DSRLIFNode.DSRLIFFunction is DSRLIFFunction
    DSRIFNode(unknown_argument=1)  # swallowed, as by the reference


@pytest.mark.parametrize("cls", [DSRIFNode, DSRLIFNode])
def test_threshold_parameter_or_buffer(cls):
    node = cls(T=4)
    assert list(node.state_dict()) == ["v_threshold"] and node.v_threshold.dim() == 0
    assert isinstance(node.v_threshold, torch.nn.Parameter)
    frozen = cls(T=4, v_threshold_training=False)
    assert list(frozen.state_dict()) == [] and list(frozen.parameters()) == []
    assert frozen.to(torch.float64).v_threshold.dtype == torch.float64, "the threshold follows .to()"
    assert dict(node.named_memories()) == {}


@pytest.mark.parametrize("cls", [DSRIFNode, DSRLIFNode])
def test_threshold_below_the_bound_is_used_as_the_bound_and_never_modified(cls):
    node = cls(T=3, v_threshold=1.0, v_threshold_lower_bound=0.5)
    with torch.no_grad():
        node.v_threshold.fill_(0.2)  # e.g. after an optimiser step
    x = (torch.randn(3, 4, 5) * 20 + 10).requires_grad_()
    out = node(x)
    assert node.v_threshold.item() == pytest.approx(0.2), "the parameter is not modified in place"
    bound = cls(T=3, v_threshold=0.5, v_threshold_lower_bound=0.5)
    x2 = x.detach().clone().requires_grad_()
    expected = bound(x2)
    assert torch.equal(out, expected)
    w = torch.randn(out.shape)
    (out * w).sum().backward()
    (expected * w).sum().backward()
    assert torch.equal(x.grad, x2.grad)
    assert node.v_threshold.grad == bound.v_threshold.grad, "the gradient passes the clamp unchanged"
    node.clamp_v_threshold_()
    assert node.v_threshold.item() == 0.5


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DSRIFNode(T=0), "T must be at least 1"),
        (lambda: DSRIFNode(v_threshold=0.001), "v_threshold must be at least v_threshold_lower_bound"),
        (lambda: DSRIFNode(alpha=0.0), r"alpha must lie in \(0, 1\]"),
        (lambda: DSRLIFNode(alpha=1.5), r"alpha must lie in \(0, 1\]"),
        (lambda: DSRIFNode(v_threshold_lower_bound=0.0), "v_threshold_lower_bound must be positive"),
        (lambda: DSRLIFNode(tau=0.0), "tau must be positive"),
        (lambda: DSRLIFNode(step_mode="s"), "step_mode must be one of"),
        (lambda: DSRIFNode(backend="cupy"), "backend must be 'auto' or one of"),
    ],
)
def test_bad_arguments_raise_naming_the_layer(build, message):
    with pytest.raises((ValueError, TypeError), match=f"DSR(L)?IFNode.*{message}"):
        build()


@pytest.mark.parametrize("cls", [DSRIFNode, DSRLIFNode])
def test_inputs_of_another_length_raise(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} was built for T=4 steps"):
        cls(T=4)(torch.randn(5, 2))


def test_integers_mean_the_same_numbers():
    assert DSRIFNode(T=4, v_threshold=2).v_threshold.item() == 2.0
    assert DSRLIFNode(T=4, tau=3, delta_t=1).tau == 3.0


def test_functions_take_a_float_threshold_as_the_reference_allows():
    x = (torch.randn(4, 3) + 0.5).requires_grad_()
    out = DSRIFNode.DSRIFFunction.apply(x, 4, 0.7, 0.5, 1.0)
    expected = DSRIFReference.apply(x, 4, torch.tensor(0.7), 0.5, 1.0)
    assert torch.equal(out, expected)
    out.sum().backward()
    assert x.grad is not None


def test_repr_names_the_settings():
    assert "T=4, init_vth=6.0, alpha=0.5, vth_bound=0.01, vth_g_scale=1.0" in repr(DSRIFNode(T=4))
    assert "tau=2.0, dt=0.05, alpha=0.3" in repr(DSRLIFNode(T=4))
