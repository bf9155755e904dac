"""The gated LIF neuron: the fused recurrence against the readable reference, and the
behaviour the reference documents."""

import inspect
import math

import pytest
import torch

from spikelayers.functional import reset_net
from spikelayers.kernels import cxx_compiler
from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron.gated import GatedLIFNode
from spikelayers_neuron.ops import blocks
from spikelayers_neuron.ops.gated_lif.fused import GatedLIFFunction, gated_lif_multi_step
from spikelayers_neuron.ops.gated_lif.inductor_kernel import gated_lif_multi_step_inductor
from spikelayers_neuron.ops.gated_lif.reference import GatedLIFParameters, gated_lif_reference
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid

SURROGATES = {
    "sigmoid": Sigmoid(),
    "atan": ATan(alpha=3.0),
    "pwq": PiecewiseQuadratic(),
    "smooth": Sigmoid(spiking=False),
}


def _parameters(T, inplane, seed):
    g = torch.Generator().manual_seed(seed)
    shape = () if inplane is None else (inplane,)

    def draw(*size, scale=1.0, shift=0.0):
        return torch.randn(size, generator=g) * scale + shift

    return GatedLIFParameters(
        alpha=draw(*shape),
        beta=draw(*shape),
        gamma=draw(*shape, scale=1.5),
        tau=draw(*shape, shift=-1.0),
        v_threshold=draw(*shape, scale=0.5),
        linear_decay=draw(*shape, shift=-3.0),
        v_subreset=draw(*shape, scale=0.5),
        conduct=draw(T, *shape),
    )


def _run(fn, x, v0, params, surrogate, seed):
    x = x.detach().clone().requires_grad_()
    v0 = v0.detach().clone().requires_grad_()
    params = GatedLIFParameters(*(p.detach().clone().requires_grad_() for p in params))
    spikes, v = fn(x, v0, params, surrogate)
    g = torch.Generator().manual_seed(seed)
    loss = (spikes.float() * torch.randn(spikes.shape, generator=g)).sum()
    loss = loss + (v.float() * torch.randn(v.shape, generator=g)).sum()
    loss.backward()
    return [spikes, v], [x.grad, v0.grad, *(p.grad for p in params)]


@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
@pytest.mark.parametrize("inplane", [None, 3])
@pytest.mark.parametrize("surrogate", SURROGATES)
def test_fused_matches_reference(T, dtype, inplane, surrogate):
    seed = T * 7 + (inplane or 0)
    g = torch.Generator().manual_seed(seed)
    shape = (2, 3, 2, 3)  # [N, C, H, W]
    x = (torch.randn((T, *shape), generator=g) * 1.5 + 0.6).to(dtype)
    v0 = (torch.rand(shape, generator=g) * 0.8).to(dtype)
    params = _parameters(T, inplane, seed)
    out, grads = _run(gated_lif_multi_step, x, v0, params, SURROGATES[surrogate], seed)
    ref_out, ref_grads = _run(gated_lif_reference, x, v0, params, SURROGATES[surrogate], seed)
    tol = kernel_tolerance(dtype)
    label = f"GatedLIF T={T} {dtype} inplane={inplane} {surrogate}"
    assert out[0].dtype == dtype and out[1].dtype == dtype
    assert_close(out, ref_out, f"{label}: spikes, final v", rtol=tol, atol=tol)
    names = ["x", "v0", *GatedLIFParameters._fields]
    for name, grad, ref in zip(names, grads, ref_grads):
        assert_close(grad, ref, f"{label}: gradient of {name}", rtol=tol, atol=tol)
    if surrogate != "smooth" and T > 2:
        assert 0 < out[0].float().mean() < 1, "the comparison must exercise both spikes and silence"


def test_fused_is_one_autograd_node():
    x = torch.randn(6, 2, 3).requires_grad_()
    spikes, v = gated_lif_multi_step(x, torch.zeros(2, 3), _parameters(6, None, 0), Sigmoid())
    assert type(spikes.grad_fn).__name__ == f"{GatedLIFFunction.__name__}Backward"
    assert v.grad_fn is spikes.grad_fn  # the final potential comes out of the same node


def _build(**kwargs):
    torch.manual_seed(0)
    return GatedLIFNode(**kwargs)


def test_signature_and_defaults_follow_the_reference():
    params = inspect.signature(GatedLIFNode).parameters
    assert list(params) == [
        "T",
        "inplane",
        "init_linear_decay",
        "init_v_subreset",
        "init_tau",
        "init_v_threshold",
        "init_conduct",
        "surrogate_function",
        "step_mode",
        "backend",
    ]
    defaults = {name: p.default for name, p in params.items() if name not in ("T", "surrogate_function")}
    assert defaults == {
        "inplane": None,
        "init_linear_decay": None,
        "init_v_subreset": None,
        "init_tau": 0.25,
        "init_v_threshold": 0.5,
        "init_conduct": 0.5,
        "step_mode": "m",
        "backend": "torch",
    }
    assert isinstance(params["surrogate_function"].default, Sigmoid)
    assert GatedLIFNode(4).surrogate_function is not GatedLIFNode(4).surrogate_function


def _logit(p):
    return -math.log(1 / p - 1)


@pytest.mark.parametrize("inplane", [None, 5])
def test_parameters_and_initial_values(inplane):
    node = _build(T=4, inplane=inplane, init_tau=0.3)
    shape = () if inplane is None else (inplane,)
    assert list(node.state_dict()) == [
        "alpha",
        "beta",
        "gamma",
        "tau",
        "v_threshold",
        "linear_decay",
        "v_subreset",
        "conduct",
    ]
    for name in ("alpha", "beta", "gamma"):
        p = getattr(node, name)
        assert p.shape == shape and p.abs().max() <= 0.1
    expected = {"tau": 0.3, "v_threshold": 0.5, "linear_decay": 0.5 / 8, "v_subreset": 0.5}
    for name, value in expected.items():
        assert torch.allclose(getattr(node, name), torch.full(shape, _logit(value)))
    assert torch.allclose(node.conduct, torch.zeros((4, *shape)))  # logit(0.5)
    assert dict(node.named_memories()) == {"v": 0.0, "u": 0.0}
    torch.manual_seed(3)
    a = GatedLIFNode(4, inplane).alpha
    torch.manual_seed(3)
    assert torch.equal(a, GatedLIFNode(4, inplane).alpha), "the gates follow torch's seed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"T": 0}, "T must be at least 1"),
        ({"T": 4, "inplane": 0}, "inplane must be at least 1"),
        ({"T": 4, "init_tau": 1.0}, "init_tau must lie strictly between 0 and 1"),
        ({"T": 4, "init_linear_decay": 1.5}, "init_linear_decay must lie strictly between"),
        ({"T": 4, "init_v_subreset": 0.0}, "init_v_subreset must lie strictly between"),
        ({"T": 4, "step_mode": "s"}, "step_mode must be one of"),
        ({"T": 4, "backend": "cupy"}, "backend must be 'auto' or one of"),
    ],
)
def test_bad_arguments_raise_naming_the_layer(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=f"GatedLIFNode.*{message}"):
        GatedLIFNode(**kwargs)


def test_inputs_of_the_wrong_length_or_channels_raise_and_leave_the_state():
    node = _build(T=3, inplane=2)
    x = torch.randn(3, 4, 2, 5)
    node(x)
    v = node.v.clone()
    with pytest.raises(ValueError, match=r"GatedLIFNode was built for T=3 steps"):
        node(torch.randn(4, 4, 2, 5))
    with pytest.raises(ValueError, match=r"inplane=2\) expects x_seq \[T, N, C, \*\] with C=2"):
        node(torch.randn(3, 4, 3, 5))
    assert torch.equal(node.v, v)


@pytest.mark.parametrize("step_shape", [(4,), (2, 3), (2, 3, 2, 2)])
def test_layer_wise_output_has_the_input_shape(step_shape):
    node = _build(T=3)
    assert node(torch.randn(3, *step_shape)).shape == (3, *step_shape)


def test_the_potential_carries_over_between_calls_until_reset():
    node = _build(T=4)
    x = torch.randn(4, 2, 3) + 0.5
    params = node.parameters_tuple()
    first = node(x)
    assert torch.equal(node.u, node.v)
    second = node(x)
    v1 = gated_lif_reference(x, torch.zeros(2, 3), params, node.surrogate_function)[1]
    expected = gated_lif_reference(x, v1, params, node.surrogate_function)[0]
    assert_close(second, expected, "second call starts from the first call's v", rtol=1e-6, atol=1e-6)
    reset_net(node)
    assert node.v == 0.0 and node.u == 0.0
    assert_close(node(x), first, "after reset", rtol=0, atol=0)


def test_a_subclass_overriding_the_charge_runs_its_own_dynamics():
    class NoInputGate(GatedLIFNode):
        def neuronal_charge(self, x, alpha, beta, t):
            leak = 1 - alpha * (1 - self._view(self.tau, x).sigmoid())
            self.u = leak * self.v + x

    torch.manual_seed(0)
    custom = NoInputGate(T=5)
    assert custom._overrides_dynamics() and not GatedLIFNode(T=5)._overrides_dynamics()
    x = (torch.randn(5, 3, 4) * 2).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    # the same dynamics: no linear decay (sigmoid(-1e4) = 0) and an input gain of 1 (b = 0)
    off = torch.tensor(-1e4)
    params = custom.parameters_tuple()._replace(linear_decay=off, beta=off)
    spikes = custom(x)
    ref, v = gated_lif_reference(x_ref, torch.zeros(3, 4), params, custom.surrogate_function)
    assert_close(spikes, ref, "subclass dynamics", rtol=1e-6, atol=1e-6)
    assert_close(custom.v, v, "subclass final v", rtol=1e-6, atol=1e-6)
    spikes.sum().backward()
    ref.sum().backward()
    assert_close(x.grad, x_ref.grad, "subclass input gradient", rtol=1e-5, atol=1e-6)


class SoftStep(torch.nn.Module):
    """A surrogate written as a plain module (no ``derivative_``): the backward falls back to autograd."""

    def forward(self, z):
        return torch.sigmoid(3.0 * z) + 0.1 * torch.tanh(z)


def test_any_elementwise_surrogate_module_works():
    x = torch.randn(5, 2, 3, 2) + 0.5
    v0 = torch.rand(2, 3, 2)
    params = _parameters(5, 3, 4)
    out, grads = _run(gated_lif_multi_step, x, v0, params, SoftStep(), 4)
    ref_out, ref_grads = _run(gated_lif_reference, x, v0, params, SoftStep(), 4)
    assert_close(out, ref_out, "plain-module surrogate: outputs", rtol=1e-5, atol=1e-6)
    assert_close(grads, ref_grads, "plain-module surrogate: gradients", rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("inplane", [None, 3])
@pytest.mark.parametrize("surrogate", ["atan", "smooth"])
def test_fused_matches_reference_across_batch_blocks(inplane, surrogate, monkeypatch):
    """Blocks of two samples (the last one partial) give the reference's numbers."""
    shape = (5, 3, 2, 3)  # [N, C, H, W]; one sample is 18 float32 numbers
    monkeypatch.setattr(blocks, "CPU_BLOCK_BYTES", 2 * 18 * 4)
    assert len(blocks.batch_blocks(5, 18, 4, "cpu")) == 3
    g = torch.Generator().manual_seed(9)
    x = torch.randn((6, *shape), generator=g) * 1.5 + 0.6
    v0 = torch.rand(shape, generator=g) * 0.8
    params = _parameters(6, inplane, 9)
    out, grads = _run(gated_lif_multi_step, x, v0, params, SURROGATES[surrogate], 9)
    ref_out, ref_grads = _run(gated_lif_reference, x, v0, params, SURROGATES[surrogate], 9)
    assert_close(out, ref_out, "3 batch blocks: spikes, final v", rtol=1e-5, atol=1e-6)
    for name, grad, ref in zip(["x", "v0", *GatedLIFParameters._fields], grads, ref_grads):
        assert_close(grad, ref, f"3 batch blocks: gradient of {name}", rtol=1e-4, atol=1e-5)


_GRID = [(T, dtype) for T in KERNEL_TEST_STEPS for dtype in KERNEL_TEST_DTYPES]
# Each compiled configuration costs seconds to compile: every (inplane, surrogate) pair
# runs one point of the kernel grid, the points rotating through it.
INDUCTOR_CASES = [
    (inplane, surrogate, *_GRID[(3 * i + 2) % len(_GRID)])
    for i, (inplane, surrogate) in enumerate((i, s) for i in (None, 3) for s in ("sigmoid", "atan", "pwq"))
]


@pytest.mark.skipif(cxx_compiler() is None, reason="no C++ compiler for torch.compile on CPU")
@pytest.mark.parametrize(("inplane", "surrogate", "T", "dtype"), INDUCTOR_CASES)
def test_inductor_matches_reference(inplane, surrogate, T, dtype):
    seed = T * 5 + (inplane or 0)
    g = torch.Generator().manual_seed(seed)
    shape = (2, 3, 2, 3)  # [N, C, H, W]
    x = (torch.randn((T, *shape), generator=g) * 1.5 + 0.6).to(dtype)
    v0 = (torch.rand(shape, generator=g) * 0.8).to(dtype)
    params = _parameters(T, inplane, seed)
    out, grads = _run(gated_lif_multi_step_inductor, x, v0, params, SURROGATES[surrogate], seed)
    ref_out, ref_grads = _run(gated_lif_reference, x, v0, params, SURROGATES[surrogate], seed)
    tol = kernel_tolerance(dtype)
    label = f"GatedLIF inductor T={T} {dtype} inplane={inplane} {surrogate}"
    assert type(out[0].grad_fn).__name__ == "InductorGatedLIFFunctionBackward", f"{label}: not compiled"
    assert out[0].dtype == dtype and out[1].dtype == dtype
    assert_close(out, ref_out, f"{label}: spikes, final v", rtol=tol, atol=tol)
    for name, grad, ref in zip(["x", "v0", *GatedLIFParameters._fields], grads, ref_grads, strict=True):
        assert grad.dtype == ref.dtype if name not in ("x", "v0") else grad.dtype == dtype
        assert_close(grad, ref, f"{label}: gradient of {name}", rtol=tol, atol=tol)


@pytest.mark.skipif(cxx_compiler() is None, reason="no C++ compiler for torch.compile on CPU")
def test_inductor_backend_through_the_module():
    x = torch.randn(4, 3, 5, 2, 2) * 1.5 + 0.6
    fast, slow = GatedLIFNode(4, inplane=5, backend="inductor"), GatedLIFNode(4, inplane=5)
    slow.load_state_dict(fast.state_dict())
    got = []
    for node in (fast, slow):
        xs = x.clone().requires_grad_()
        out = node(xs)
        (out * torch.arange(out.numel()).view_as(out)).sum().backward()
        got.append([out, node.v, xs.grad, *(p.grad for p in node.parameters())])
    assert_close(got[0], got[1], "GatedLIF: inductor vs torch", rtol=1e-4, atol=1e-4)
    smooth = GatedLIFNode(4, surrogate_function=Sigmoid(spiking=False), backend="inductor")
    reference = GatedLIFNode(4, surrogate_function=Sigmoid(spiking=False))
    reference.load_state_dict(smooth.state_dict())
    assert_close(smooth(x), reference(x), "a non-spiking surrogate runs the PyTorch kernel", rtol=0, atol=0)
