"""The compiled CPU kernels (backend ``'inductor'``) against the readable reference.

Each configuration compiles a forward and a backward (seconds each), so the full kernel
grid (every ``T`` of :data:`KERNEL_TEST_STEPS`, float32 and bfloat16) runs for LIF, and
every other configuration runs one point of it, the points rotating through the grid.
"""

import pytest
import torch

from spikelayers import functional
from spikelayers.errors import BackendUnavailableError
from spikelayers.kernels import backend_unavailable_reason, cxx_compiler
from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron import inductor_kernel
from spikelayers_neuron.cells import CellConfig, IzhikevichConfig
from spikelayers_neuron.dynamics import NeuronConfig
from spikelayers_neuron.inductor_kernel import (
    InductorIzhikevichFunction,
    InductorSequenceFunction,
    neuron_multi_step_inductor,
)
from spikelayers_neuron.kernel_checks import KernelRun, loss_weights
from spikelayers_neuron.lif_variants import KLIFNode, SLTTLIFNode
from spikelayers_neuron.node import IFNode, LIFNode, ParametricLIFNode
from spikelayers_neuron.nonlinear import EIFNode, IzhikevichNode, QIFNode
from spikelayers_neuron.reference import (
    reference_cell_multi_step,
    reference_izhikevich_multi_step,
    reference_multi_step,
)
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid, SoftSign

pytestmark = pytest.mark.skipif(cxx_compiler() is None, reason="no C++ compiler for torch.compile on CPU")

SURROGATES = {
    "sigmoid": Sigmoid(),
    "atan": ATan(alpha=3.0),
    "pwq": PiecewiseQuadratic(alpha=0.8),
    "softsign": SoftSign(),
}
GRID = [(T, dtype) for T in KERNEL_TEST_STEPS for dtype in KERNEL_TEST_DTYPES]
# Shapes of several neurons (a single neuron runs the PyTorch kernel); 1041 is odd and
# longer than one vector register row.
SHAPES = [(2, 1, 7), (3, 1, 347)]
MAX_FLIPPED = {torch.float32: 1e-3, torch.bfloat16: 1e-2}

NEURON_CONFIGS = {
    "lif-hard0-sigmoid": NeuronConfig("lif", 1.0, 0.0, False, SURROGATES["sigmoid"]),
    "if-soft-atan-detach-store": NeuronConfig("if", 1.0, None, True, SURROGATES["atan"], True, True),
    "lif-hard-0.3-pwq-nodecay-store": NeuronConfig("lif", 1.0, -0.3, False, SURROGATES["pwq"], False, True),
    "plif-hard0-softsign": NeuronConfig("plif", 1.0, 0.0, False, SURROGATES["softsign"]),
    "plif-soft-atan-detach": NeuronConfig("plif", 1.0, None, True, SURROGATES["atan"], True),
    "plif-hard-0.2-sigmoid-nodecay-store": NeuronConfig("plif", 1.0, -0.2, False, SURROGATES["sigmoid"], False, True),
}
CELL_CONFIGS = {
    "qif-hard-atan": CellConfig("qif", (2.0, 0.8, 1.0, -0.1), 1.0, -0.1, False, SURROGATES["atan"]),
    "eif-soft-sigmoid-store": CellConfig("eif", (2.0, 1.0, 0.8, -0.1), 1.0, None, False, SURROGATES["sigmoid"], True),
    "klif-hard-pwq-detach": CellConfig("klif", (2.0, True, 0.0), 1.0, 0.0, True, SURROGATES["pwq"]),
    "klif-soft-sigmoid-nodecay-store": CellConfig(
        "klif", (2.0, False, 0.0), 1.0, None, False, SURROGATES["sigmoid"], True
    ),
}
CASES = [("lif-hard0-sigmoid", T, dtype) for T, dtype in GRID] + [
    (name, *GRID[(3 * i + 1) % len(GRID)]) for i, name in enumerate([*NEURON_CONFIGS, *CELL_CONFIGS][1:])
]


def _config(name):
    return NEURON_CONFIGS.get(name) or CELL_CONFIGS[name]


def _reference(x, v0, k, config):
    if isinstance(config, CellConfig):
        return reference_cell_multi_step(x, v0, k, config)
    return reference_multi_step(x, v0, k, config)


def _inputs(config, T, shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn((T, *shape), generator=g) * 2.0 + 0.8).to(dtype)
    v0 = (torch.rand(shape, generator=g) * 0.8).to(dtype)
    kind = config.cell if isinstance(config, CellConfig) else config.kind
    k = {"if": None, "lif": 1 / 3, "qif": None, "eif": None}.get(kind, torch.tensor(0.6))
    return x, v0, k


@pytest.mark.parametrize(("name", "T", "dtype"), CASES, ids=[f"{n}-T{t}-{str(d)[6:]}" for n, t, d in CASES])
def test_inductor_matches_reference(name, T, dtype):
    config = _config(name)
    tol = kernel_tolerance(dtype)
    flipped = total = fired = nonzero = 0
    for seed, shape in enumerate(SHAPES):
        label = f"{name} T={T} {dtype} {shape}"
        x, v0, k = _inputs(config, T, shape, dtype, seed)
        got = KernelRun(InductorSequenceFunction.apply, x, v0, k, config)
        ref = KernelRun(_reference, x.float(), v0.float(), k, config)
        assert got.spikes.dtype == dtype and got.v.dtype == dtype, f"{label}: outputs in {got.v.dtype}"
        assert got.v.shape == ref.v.shape, f"{label}: potential of shape {tuple(got.v.shape)}"
        differs = got.spikes.detach().float() != ref.spikes.detach()
        flipped, total = flipped + differs.sum().item(), total + differs.numel()
        fired += ref.spikes.detach().sum().item()
        keep = ~differs.any(dim=0)
        assert_close(
            got.v.detach().float()[..., keep], ref.v.detach()[..., keep], f"{label}: potential", rtol=tol, atol=tol
        )

        w_s, w_v = loss_weights(x.shape, got.v.shape, keep, seed)
        got_grads, ref_grads = got.backward(w_s, w_v), ref.backward(w_s, w_v)
        for leaf, a, b in zip(["input", "initial state", "k"], got_grads, ref_grads, strict=False):
            assert a.dtype == (dtype if leaf != "k" else b.dtype), f"{label}: gradient of the {leaf} in {a.dtype}"
            assert_close(a.float(), b, f"{label}: gradient of the {leaf}", rtol=tol, atol=tol)
        nonzero += ref_grads[0].count_nonzero().item()
    assert flipped <= MAX_FLIPPED[dtype] * total, f"{flipped} of {total} spikes differ from the float32 reference"
    assert 0.05 * total < fired < 0.95 * total, f"{fired} of {total} steps fired: too few or too many to test"
    assert nonzero > total / 2, f"only {nonzero} of {total} input gradients are not zero"


def test_the_cases_cover_every_step_count_dtype_and_configuration():
    assert {(T, d) for n, T, d in CASES if n == "lif-hard0-sigmoid"} == set(GRID)
    assert {n for n, _, _ in CASES} == {*NEURON_CONFIGS, *CELL_CONFIGS}


@pytest.mark.parametrize("cls", [IFNode, LIFNode, ParametricLIFNode, QIFNode, EIFNode, KLIFNode, IzhikevichNode])
def test_inductor_backend_through_the_module(cls):
    """A neuron with ``backend='inductor'`` gives the ``'torch'`` backend's spikes, state and gradients."""
    x = torch.randn(5, 4, 3, 6) * 2 + 0.5
    fast, slow = cls(step_mode="m", backend="inductor"), cls(step_mode="m")
    assert fast._multi_step_kernel(x.device) is not slow._multi_step_kernel(x.device)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    sa, sb = fast(xa), slow(xb)
    (sa * torch.arange(sa.numel()).view_as(sa)).sum().backward()
    (sb * torch.arange(sb.numel()).view_as(sb)).sum().backward()
    got, want = [sa, fast.v, xa.grad], [sb, slow.v, xb.grad]
    got += [p.grad for p in fast.parameters()]
    want += [p.grad for p in slow.parameters()]
    assert_close(got, want, f"{cls.__name__}: inductor vs torch", rtol=1e-4, atol=1e-4)


IZHIKEVICH_CONFIGS = {
    "izhikevich-hard-sigmoid": IzhikevichConfig(
        2.0, 0.8, 1.0, -0.1, 3.0, 0.5, 0.2, 1.0, -0.1, False, SURROGATES["sigmoid"]
    ),
    "izhikevich-soft-atan-detach-store": IzhikevichConfig(
        2.0, 0.8, 1.0, -0.1, 3.0, 0.5, 0.2, 1.0, None, True, SURROGATES["atan"], True
    ),
    "izhikevich-hard-pwq-detach": IzhikevichConfig(
        2.0, 0.8, 1.0, 0.0, 2.0, 0.3, 0.1, 1.0, 0.0, True, SURROGATES["pwq"]
    ),
}


@pytest.mark.parametrize(
    ("name", "T", "dtype"),
    [(name, *GRID[(5 * i + 2) % len(GRID)]) for i, name in enumerate(IZHIKEVICH_CONFIGS)],
    ids=lambda p: str(p).removeprefix("torch."),
)
def test_inductor_izhikevich_matches_reference(name, T, dtype):
    config = IZHIKEVICH_CONFIGS[name]
    tol = kernel_tolerance(dtype)
    fired = total = 0
    for seed, shape in enumerate(SHAPES):
        label = f"{name} T={T} {dtype} {shape}"
        g = torch.Generator().manual_seed(seed)
        # moderate inputs: the quadratic charge diverges from far above the threshold
        x = (torch.randn((T, *shape), generator=g) * 0.5 + 0.7).to(dtype)
        v0, w0 = (torch.rand(shape, generator=g) * 0.5).to(dtype), (torch.rand(shape, generator=g) * 0.2).to(dtype)
        runs = []
        for fn, args in (
            (InductorIzhikevichFunction.apply, (x, v0, w0)),
            (reference_izhikevich_multi_step, (x.float(), v0.float(), w0.float())),
        ):
            leaves = [a.detach().clone().requires_grad_() for a in args]
            spikes, v, w = fn(*leaves, config)
            v = v if config.store_v_seq or v.dim() < x.dim() else v[-1]
            runs.append((leaves, spikes, v, w))
        (_, got_s, got_v, got_w), (_, ref_s, ref_v, ref_w) = runs
        assert got_s.dtype == dtype and got_v.dtype == dtype and got_w.dtype == dtype, f"{label}: output dtypes"
        keep = ~(got_s.detach().float() != ref_s.detach()).any(dim=0)
        assert keep.float().mean() > 0.9, f"{label}: too many neurons fired differently"
        fired, total = fired + ref_s.detach().sum().item(), total + ref_s.numel()
        outputs = [
            (got_v.detach().float()[..., keep], ref_v.detach()[..., keep]),
            (got_w.detach().float()[keep], ref_w.detach()[keep]),
        ]
        assert_close(*map(list, zip(*outputs, strict=True)), f"{label}: potential and current", rtol=tol, atol=tol)
        w_s, w_v = loss_weights(x.shape, got_v.shape, keep, seed)
        w_w = loss_weights(x.shape, w0.shape, keep, seed + 7)[1]
        grads = []
        for leaves, s, v, w in runs:
            loss = (s.float() * w_s).sum() + (v.float() * w_v).sum() + (w.float() * w_w).sum()
            grads.append(torch.autograd.grad(loss, leaves))
        for leaf, a, b in zip(["input", "initial potential", "initial current"], *grads, strict=True):
            assert a.dtype == dtype, f"{label}: gradient of the {leaf} in {a.dtype}"
            assert_close(a.float(), b, f"{label}: gradient of the {leaf}", rtol=tol, atol=tol)
    assert 0.05 * total < fired < 0.95 * total, f"{fired} of {total} steps fired: too few or too many to test"


def test_a_surrogate_without_derivative_is_refused_with_the_reason():
    class Custom(torch.nn.Module):
        def forward(self, x):
            return Sigmoid()(x)

    node = LIFNode(surrogate_function=Custom(), step_mode="m", backend="inductor")
    before = node.v
    with pytest.raises(BackendUnavailableError, match=r"inductor.*Custom defines no derivative"):
        node(torch.randn(3, 4))
    assert node.v is before
    nonspiking = LIFNode(surrogate_function=Sigmoid(spiking=False), step_mode="m", backend="inductor")
    with pytest.raises(BackendUnavailableError, match="spiking=False"):
        nonspiking(torch.randn(3, 4))


def test_other_calls_run_the_pytorch_kernel(monkeypatch):
    """An empty sequence or batch, one neuron, or a surrogate subclass whose derivative does
    not match its forward: the PyTorch kernel's results, without compiling."""

    def refuse(*args):
        raise AssertionError("compiled for a call that the PyTorch kernel should run")

    monkeypatch.setattr(inductor_kernel, "run_compiled", refuse)
    config = NeuronConfig("lif", 1.0, 0.0, False, Sigmoid())
    spikes, v = neuron_multi_step_inductor(torch.randn(0, 3), torch.full((3,), 0.5), 0.5, config)
    assert spikes.shape == (0, 3) and torch.equal(v, torch.full((3,), 0.5))
    for x, v0 in [(torch.randn(4, 0), torch.zeros(0)), (torch.randn(4, 1) + 1.0, torch.zeros(1))]:
        spikes, v = neuron_multi_step_inductor(x, v0, 0.5, config)
        ref_spikes, ref_v = reference_multi_step(x, v0, 0.5, config)
        assert_close([spikes, v], [ref_spikes, ref_v[-1]], "PyTorch kernel", rtol=0, atol=1e-6)

    class Shifted(Sigmoid):
        def forward(self, x):
            return super().forward(x - 0.1)

    shifted = NeuronConfig("lif", 1.0, 0.0, False, Shifted())
    x = torch.randn(4, 6).requires_grad_()
    spikes, _ = neuron_multi_step_inductor(x, torch.zeros(6), 0.5, shifted)
    ref, _ = reference_multi_step(x, torch.zeros(6), 0.5, shifted)
    assert_close(
        torch.autograd.grad(spikes.sum(), x), torch.autograd.grad(ref.sum(), x), "subclass", rtol=1e-6, atol=1e-6
    )


def test_inside_torch_compile_the_pytorch_kernel_is_traced():
    net = torch.nn.Sequential(torch.nn.Linear(6, 6), LIFNode(step_mode="m", backend="inductor"))
    x = torch.randn(4, 3, 6)
    eager = net(x)
    functional.reset_net(net)
    compiled = torch.compile(net, fullgraph=True)(x)
    assert_close(compiled, eager, "compiled network", rtol=1e-5, atol=1e-5)


def test_set_backend_reaches_the_covered_neurons_only():
    net = torch.nn.Sequential(LIFNode(), IzhikevichNode(), SLTTLIFNode())
    functional.set_backend(net, "inductor")
    assert [m.backend for m in net] == ["inductor", "inductor", "torch"]
    with pytest.raises(ValueError, match="SLTTLIFNode: backend must be"):
        SLTTLIFNode(backend="inductor")


def test_the_backend_runs_on_cpu_only():
    assert backend_unavailable_reason("inductor", "cpu") is None
    assert "CPU kernels only" in backend_unavailable_reason("inductor", "meta")
