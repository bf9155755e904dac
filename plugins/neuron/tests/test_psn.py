"""The parallel spiking neurons: fast paths against the readable references, and the
behaviour the reference documents (parameters, memories, step modes, errors)."""

import copy
import inspect
import pickle

import pytest
import torch

from spikelayers.errors import StateShapeError
from spikelayers.functional import reset_net
from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron.ops import blocks
from spikelayers_neuron.ops.psn.fused import (
    masked_weight,
    psn_multi_step,
    sliding_psn_conv,
    sliding_psn_gemm,
    sliding_weight_matrix,
)
from spikelayers_neuron.ops.psn.reference import (
    masked_psn_reference,
    masked_weight_reference,
    psn_reference,
    sliding_psn_reference,
)
from spikelayers_neuron.psn import PSN, MaskedPSN, SlidingPSN
from spikelayers_neuron.surrogate import ATan, Sigmoid

SHAPES = {1: (3,), 2: (2, 5), 7: (3, 2, 4), 16: (4, 3)}  # one step's shape per T


def _sequence(T, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn((T, *SHAPES[T]), generator=g) * 1.5 + 0.5).to(dtype)


def _run(fn, x, params, seed=1):
    """Outputs and the gradients of the input and every parameter of ``fn(x, *params)``."""
    x = x.detach().clone().requires_grad_()
    params = [p.detach().clone().requires_grad_() for p in params]
    out = fn(x, *params)
    g = torch.Generator().manual_seed(seed)
    (out.float() * torch.randn(out.shape, generator=g)).sum().backward()
    return out, [x.grad, *[p.grad for p in params]]


def _assert_matches(fast, reference, x, params, dtype, label):
    out, grads = _run(fast, x, params)
    ref_out, ref_grads = _run(reference, x, params)
    tol = kernel_tolerance(dtype)
    assert out.dtype == dtype
    assert_close(out, ref_out, f"{label}: spikes", rtol=tol, atol=tol)
    assert_close(grads, ref_grads, f"{label}: gradients (x, parameters)", rtol=tol, atol=tol)
    return out


@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_psn_matches_reference(T, dtype):
    torch.manual_seed(T)
    weight, bias = torch.randn(T, T) * 0.6, torch.randn(T, 1) * 0.3 - 0.5
    surrogate = ATan()
    out = _assert_matches(
        lambda x, w, b: psn_multi_step(x, w, b, surrogate),
        lambda x, w, b: psn_reference(x, w, b, surrogate),
        _sequence(T, dtype),
        [weight, bias],
        dtype,
        f"PSN T={T} {dtype}",
    )
    assert 0 < out.float().mean() < 1


@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
@pytest.mark.parametrize("lambda_", [0.0, 0.35, 1.0, 1.5])
def test_masked_psn_matches_reference(T, dtype, lambda_):
    torch.manual_seed(T)
    weight, bias, k = torch.randn(T, T) * 0.6, torch.randn(T, 1) * 0.3 - 0.5, 2
    node = MaskedPSN(k, T, lambda_init=lambda_)
    surrogate = Sigmoid(alpha=3.0)

    def fast(x, w, b):
        return psn_multi_step(x, masked_weight(w, node.mask0, node.mask1, node.lambda_), b, surrogate)

    _assert_matches(
        fast,
        lambda x, w, b: masked_psn_reference(x, w, b, k, lambda_, surrogate),
        _sequence(T, dtype),
        [weight, bias],
        dtype,
        f"MaskedPSN T={T} {dtype} lambda={lambda_}",
    )


@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
@pytest.mark.parametrize("k", [1, 3, 20])
@pytest.mark.parametrize("fast", [sliding_psn_gemm, sliding_psn_conv], ids=["gemm", "conv"])
def test_sliding_psn_matches_reference(T, dtype, k, fast):
    torch.manual_seed(T + k)
    weight, bias = torch.randn(k) * 0.7, torch.tensor(-0.4)
    surrogate = ATan(alpha=3.0)
    _assert_matches(
        lambda x, w, b: fast(x, w, b, surrogate),
        lambda x, w, b: sliding_psn_reference(x, w, b, surrogate),
        _sequence(T, dtype),
        [weight, bias],
        dtype,
        f"SlidingPSN {fast.__name__} T={T} k={k} {dtype}",
    )


def test_sliding_weight_matrix_is_the_documented_band():
    weight = torch.tensor([0.1, 0.2, 0.3])
    expected = torch.tensor(
        [
            [0.3, 0.0, 0.0, 0.0],
            [0.2, 0.3, 0.0, 0.0],
            [0.1, 0.2, 0.3, 0.0],
            [0.0, 0.1, 0.2, 0.3],
        ]
    )
    assert torch.equal(sliding_weight_matrix(weight, 4), expected)
    assert torch.equal(SlidingPSN(2).gen_gemm_weight(3), torch.tensor([[1.0, 0, 0], [0.5, 1, 0], [0, 0.5, 1]]))


def test_masked_weight_is_the_documented_mask():
    torch.manual_seed(0)
    node = MaskedPSN(k=2, T=4, lambda_init=0.25)
    band = torch.tensor([[1.0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    assert torch.equal(node.mask0, band)
    expected = node.weight * (0.25 * band + 0.75)
    assert_close(node.masked_weight(), expected, "lambda 0.25", rtol=1e-6, atol=1e-7)
    assert_close(masked_weight_reference(node.weight, 2, 0.25), expected, "reference mask", rtol=1e-6, atol=1e-7)
    node.lambda_ = 3.0  # beyond 1 the band alone, as in the reference
    assert torch.equal(node.masked_weight(), node.weight * band)


# -- construction -------------------------------------------------------------------


def test_signatures_and_defaults_follow_the_reference():
    def params(cls):
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]

    assert [n for n, _ in params(PSN)] == ["T", "surrogate_function"]
    assert [(n, d) for n, d in params(MaskedPSN) if n != "surrogate_function"] == [
        ("k", inspect.Parameter.empty),
        ("T", inspect.Parameter.empty),
        ("lambda_init", 0.0),
        ("step_mode", "s"),
    ]
    assert [(n, d) for n, d in params(SlidingPSN) if n != "surrogate_function"] == [
        ("k", inspect.Parameter.empty),
        ("exp_init", True),
        ("step_mode", "s"),
        ("backend", "gemm"),
    ]
    for cls in (PSN, MaskedPSN, SlidingPSN):
        assert isinstance((cls(3, 4) if cls is MaskedPSN else cls(3)).surrogate_function, ATan)
        assert isinstance(inspect.signature(cls).parameters["surrogate_function"].default, ATan)


def test_parameters_buffers_and_initial_values():
    torch.manual_seed(0)
    psn = PSN(T=4)
    assert list(psn.state_dict()) == ["weight", "bias"]
    assert psn.weight.shape == (4, 4) and torch.equal(psn.bias, -torch.ones(4, 1))
    assert psn.weight.abs().max() <= 0.5 and psn.weight.std() > 0  # kaiming_uniform(a=sqrt(5)): U(-1/2, 1/2)
    assert psn.step_mode == "m" and psn.supported_step_mode() == ("m",)

    masked = MaskedPSN(k=2, T=5, lambda_init=0.3)
    assert list(masked.state_dict()) == ["weight", "bias", "_lambda_", "mask0", "mask1"]
    assert masked.lambda_.dim() == 0 and float(masked.lambda_) == pytest.approx(0.3)
    assert torch.equal(masked.mask1, torch.ones(5, 5))
    assert dict(masked.named_memories()) == {"time_step": 0, "queue": []}

    sliding = SlidingPSN(k=4)
    assert list(sliding.state_dict()) == ["weight", "bias"]
    assert torch.equal(sliding.weight, torch.tensor([0.125, 0.25, 0.5, 1.0]))
    assert sliding.bias.dim() == 0 and sliding.bias.item() == -1.0
    assert sliding.backend == "gemm" and sliding.supported_backends == ("gemm", "conv")
    assert SlidingPSN(k=4, exp_init=False).weight.shape == (4,)


def test_each_neuron_gets_its_own_default_surrogate():
    assert PSN(3).surrogate_function is not PSN(3).surrogate_function
    assert MaskedPSN(2, 3).surrogate_function is not MaskedPSN(2, 3).surrogate_function
    assert SlidingPSN(2).surrogate_function is not SlidingPSN(2).surrogate_function
    mine = Sigmoid()
    assert SlidingPSN(2, surrogate_function=mine).surrogate_function is mine


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PSN(0), "T must be at least 1"),
        (lambda: PSN(2.5), "T must be an int"),
        (lambda: MaskedPSN(0, 4), "k must be at least 1"),
        (lambda: SlidingPSN(2, backend="nope"), "backend must be 'auto' or one of"),
        (lambda: SlidingPSN(2, step_mode="x"), "step_mode must be one of"),
    ],
)
def test_bad_arguments_raise_naming_the_layer(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_psn_has_no_single_step_mode():
    with pytest.raises(ValueError, match="PSN: step_mode must be one of"):
        PSN(3).step_mode = "s"


# -- forward ------------------------------------------------------------------------


@pytest.mark.parametrize("build", [lambda: PSN(4), lambda: MaskedPSN(2, 4, step_mode="m")])
def test_fixed_T_neurons_reject_other_lengths(build):
    node = build()
    with pytest.raises(ValueError, match=r"built for T=4 steps .* got shape \(5, 2\)"):
        node(torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"\[T, N, \*\]"):
        node(torch.randn(4))


def test_psn_spikes_where_the_charge_reaches_the_threshold():
    node = PSN(T=2)
    with torch.no_grad():
        node.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
        node.bias.fill_(-1.0)
    x = torch.tensor([[1.0, 0.5], [2.0, 1.0]])  # h0 = x0 - 1, h1 = (x0 + x1) / 2 - 1
    assert torch.equal(node(x), torch.tensor([[1.0, 0.0], [1.0, 0.0]]))


@pytest.mark.parametrize("build", [lambda: MaskedPSN(3, 6, lambda_init=1.0), lambda: SlidingPSN(3)])
@pytest.mark.parametrize("step_shape", [(4,), (2, 3, 2)])
def test_single_steps_equal_the_multi_step_mode(build, step_shape):
    """The loop of single steps gives the multi-step spikes and gradients, for any step
    shape (the reference's single-step mode fails past step 1 for inputs of more than one dim)."""
    torch.manual_seed(0)
    multi = build()
    multi.step_mode = "m"
    single = copy.deepcopy(multi)
    single.step_mode = "s"
    x = torch.randn(6, *step_shape) * 1.5 + 0.5
    x_m, x_s = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_m = multi(x_m)
    y_s = torch.stack([single(x_t) for x_t in x_s])
    assert_close(y_s, y_m, "spikes", rtol=1e-6, atol=1e-6)
    w = torch.randn(y_m.shape)
    (y_m * w).sum().backward()
    (y_s * w).sum().backward()
    assert_close(x_s.grad, x_m.grad, "input gradient", rtol=1e-5, atol=1e-6)
    for (name, p_m), p_s in zip(multi.named_parameters(), single.parameters()):
        assert_close(p_s.grad, p_m.grad, f"gradient of {name}", rtol=1e-5, atol=1e-6)
    assert len(single.queue) == 3 and all(q.shape == (x[0].numel(),) for q in single.queue)
    assert dict(multi.named_memories())["queue"] == []  # multi-step mode keeps no state


def test_masked_single_step_state_and_errors():
    node = MaskedPSN(2, 3, lambda_init=0.0)
    x = torch.randn(4)
    with pytest.raises(ValueError, match=r"MaskedPSN: single-step mode needs lambda_ >= 1"):
        node(x)
    assert node.time_step == 0 and node.queue == []
    node.lambda_ = 1.0
    for step in range(3):
        node(x)
        assert node.time_step == step + 1
    queue_before = list(node.queue)
    with pytest.raises(OverflowError, match=r"MaskedPSN\(T=3\) has already run 3 single steps"):
        node(x)
    assert node.time_step == 3 and all(a is b for a, b in zip(node.queue, queue_before))
    reset_net(node)
    assert node.time_step == 0 and node.queue == []
    node(x)
    with pytest.raises(StateShapeError, match="MaskedPSN: the queued steps have 4 elements"):
        node(torch.randn(5))
    assert node.time_step == 1


def test_sliding_psn_single_step_sees_the_last_k_inputs():
    node = SlidingPSN(k=2, surrogate_function=ATan(spiking=False))
    with torch.no_grad():
        node.weight.copy_(torch.tensor([0.5, 2.0]))
        node.bias.fill_(0.0)
    ys = [node(torch.tensor([v])) for v in (1.0, 3.0, -2.0)]
    expected_h = torch.tensor([2.0, 6.5, -2.5])  # 2*x_t + 0.5*x_{t-1}
    assert_close(torch.cat(ys), ATan(spiking=False)(expected_h), "smooth outputs", rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("build", [lambda: MaskedPSN(2, 4, lambda_init=1.0), lambda: SlidingPSN(3)])
def test_copy_and_pickle_keep_the_queue(build):
    node = build()
    x = torch.randn(4, 3)
    node(x[0])
    node(x[1])
    for clone in (copy.deepcopy(node), pickle.loads(pickle.dumps(node))):
        assert_close(clone(x[2]), node(x[2]), "next step of a copy", rtol=0, atol=0)
        reset_net(node)
        node(x[0])
        node(x[1])


class SoftStep(torch.nn.Module):
    """A surrogate written as a plain module (no ``derivative_``): the backward falls back to autograd."""

    def forward(self, z):
        return torch.sigmoid(3.0 * z) + 0.1 * torch.tanh(z)


def test_any_elementwise_surrogate_module_works():
    torch.manual_seed(0)
    weight, bias = torch.randn(5, 5), torch.randn(5, 1)
    surrogate = SoftStep()
    _assert_matches(
        lambda x, w, b: psn_multi_step(x, w, b, surrogate),
        lambda x, w, b: psn_reference(x, w, b, surrogate),
        torch.randn(5, 2, 3),
        [weight, bias],
        torch.float32,
        "PSN with a plain-module surrogate",
    )


@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
@pytest.mark.parametrize("surrogate", [ATan(), SoftStep()], ids=["in-place derivative", "autograd derivative"])
def test_fast_path_in_several_column_blocks_matches_the_reference(monkeypatch, surrogate, dtype):
    """Blocks narrower than a step (150 columns in blocks of 64, the last one partial) give the
    reference's spikes and gradients, for the PSN's ``[T, 1]`` bias and the sliding PSN's scalar one."""
    monkeypatch.setattr(blocks, "CPU_BLOCK_BYTES", 1)
    assert len(blocks.column_blocks(150, 4, "cpu")) == 3
    torch.manual_seed(0)
    T = 5
    x = (torch.randn(T, 3, 50) * 1.5 + 0.5).to(dtype)
    _assert_matches(
        lambda x, w, b: psn_multi_step(x, w, b, surrogate),
        lambda x, w, b: psn_reference(x, w, b, surrogate),
        x,
        [torch.randn(T, T) * 0.6, torch.randn(T, 1) * 0.3 - 0.5],
        dtype,
        f"PSN in column blocks {dtype}",
    )
    _assert_matches(
        lambda x, w, b: sliding_psn_gemm(x, w, b, surrogate),
        lambda x, w, b: sliding_psn_reference(x, w, b, surrogate),
        x.transpose(1, 2),  # a strided input
        [torch.randn(3), torch.tensor(-0.4)],
        dtype,
        f"sliding PSN in column blocks {dtype}",
    )
