"""The attention blocks: fast cores held to the readable ones, neurons, state, errors."""

import copy

import pytest
import torch

from spikelayers import functional, layer, neuron, surrogate
from spikelayers.testing import assert_close
from spikelayers_transformer import fused, reference
from spikelayers_transformer.bench import (
    ReferenceQKAttention,
    ReferenceSpikeDrivenSelfAttention,
    ReferenceSpikingSelfAttention,
)
from spikelayers_transformer.cases import firing

TOKEN_BLOCKS = ("SpikingSelfAttention", "QKAttention", "TokenQKAttention", "ChannelQKAttention")
ALL_BLOCKS = (*TOKEN_BLOCKS, "SpikeDrivenSelfAttention")


def spikes(*shape, seed=0, p=0.4):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p).double()


def grads_of(output, inputs):
    weight = torch.randn(output.shape, generator=torch.Generator().manual_seed(5), dtype=output.dtype)
    return torch.autograd.grad((output * weight).sum(), inputs)


@pytest.mark.parametrize(("heads", "d", "L"), [(1, 3, 5), (2, 4, 4), (3, 6, 2), (4, 1, 7)])
def test_ssa_scores_match_reference(heads, d, L):
    qkv = spikes(3, 2, 3 * heads * d, L).requires_grad_(True)
    y = fused.ssa_scores(qkv, heads, 0.125)
    expected = reference.ssa_scores_reference(qkv, heads, 0.125)
    assert y.shape == (3, 2, heads, d, L)
    assert_close(y, expected, "SSA scores", rtol=1e-12, atol=1e-12)
    assert_close(grads_of(y, qkv), grads_of(expected, qkv), "SSA scores gradient", rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("qka_type", ["token", "channel"])
@pytest.mark.parametrize(("heads", "d", "L"), [(1, 3, 5), (2, 4, 1), (4, 2, 3)])
def test_qk_summary_matches_reference(qka_type, heads, d, L):
    qk = spikes(2, 3, 2 * heads * d, L).requires_grad_(True)
    summary, keys = fused.qk_summary(qk, heads, qka_type)
    expected_summary, expected_keys = reference.qk_summary_reference(qk, heads, qka_type)
    assert summary.shape == ((2, 3, heads, 1, L) if qka_type == "token" else (2, 3, heads, d, 1))
    assert_close([summary, keys], [expected_summary, expected_keys], "QK summary", rtol=0, atol=0)
    out, expected_out = summary * keys, expected_summary * expected_keys
    assert_close(grads_of(out, qk), grads_of(expected_out, qk), "QK gradient", rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("heads", "d", "H", "W"), [(1, 3, 2, 3), (2, 4, 3, 3), (4, 2, 1, 5)])
def test_sdsa_kv_matches_reference(heads, d, H, W):
    k = torch.randn(3, 2, heads * d, H, W, dtype=torch.float64, requires_grad=True)
    v = spikes(3, 2, heads * d, H, W).requires_grad_(True)
    y = fused.sdsa_kv(k, v, heads)
    expected = reference.sdsa_kv_reference(k, v, heads)
    assert y.shape == (3, 2, heads, 1, d)
    assert_close(y, expected, "SDSA kv", rtol=1e-12, atol=1e-12)
    assert_close(grads_of(y, (k, v)), grads_of(expected, (k, v)), "SDSA kv gradient", rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("train", [True, False])
def test_sdsa_qkv_matches_reference(dtype, train):
    torch.manual_seed(0)
    fast = firing(lambda: layer.SpikeDrivenSelfAttention(8, 2))().to(dtype).train(train)
    slow = copy.deepcopy(fast)
    s = (3 * torch.randn(3, 2, 8, 3, 2, dtype=dtype)).requires_grad_(True)
    modules = [((b.q_conv, b.k_conv, b.v_conv), (b.q_bn, b.k_bn, b.v_bn)) for b in (fast, slow)]
    y = fused.sdsa_qkv(s, *modules[0])
    expected = reference.sdsa_qkv_reference(s, *modules[1])
    assert [part.shape for part in y] == [s.shape] * 3
    tolerance = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-5}
    assert_close(list(y), list(expected), "SDSA projections", **tolerance)
    params = [[p for group in pair for m in group for p in m.parameters()] for pair in modules]
    g_fast = grads_of(torch.stack(y), [s, *params[0]])
    g_slow = grads_of(torch.stack(expected), [s, *params[1]])
    assert_close(list(g_fast), list(g_slow), "SDSA projection gradients", **tolerance)
    assert_close(list(fast.buffers()), list(slow.buffers()), "SDSA batch-norm buffers", **tolerance)


@pytest.mark.parametrize("scale", [0.125, 0.3])
def test_ssa_scores_scale_folding(scale):
    qkv = spikes(2, 2, 3 * 2 * 4, 6).requires_grad_(True)
    y = fused.ssa_scores(qkv, 2, scale)
    expected = reference.ssa_scores_reference(qkv, 2, scale)
    assert_close(y, expected, "SSA scores", rtol=1e-12, atol=1e-12)
    assert_close(grads_of(y, qkv), grads_of(expected, qkv), "SSA scores gradient", rtol=1e-10, atol=1e-12)
    assert fused.is_power_of_two(0.125) and fused.is_power_of_two(4.0)
    assert not any(fused.is_power_of_two(v) for v in (0.3, 0.0, -0.5))


BLOCK_PAIRS = [
    (lambda: layer.SpikingSelfAttention(12, 3), ReferenceSpikingSelfAttention, (3, 2, 12, 6)),
    (lambda: layer.QKAttention(8, 2), ReferenceQKAttention, (3, 2, 8, 5)),
    (lambda: layer.QKAttention(8, 4, qka_type="channel"), ReferenceQKAttention, (3, 2, 8, 5)),
    (lambda: layer.SpikeDrivenSelfAttention(8, 2), ReferenceSpikeDrivenSelfAttention, (3, 2, 8, 3, 2)),
]


@pytest.mark.parametrize(("build", "reference_cls", "shape"), BLOCK_PAIRS)
def test_block_matches_block_with_reference_core(build, reference_cls, shape):
    torch.manual_seed(0)
    fast = firing(build)().double()
    slow = copy.deepcopy(fast)
    slow.__class__ = reference_cls
    x = (3 * torch.randn(shape, dtype=torch.float64)) if len(shape) == 5 else spikes(*shape)
    x_fast, x_slow = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    outs = [fast(x_fast), fast(x_fast)], [slow(x_slow), slow(x_slow)]
    assert_close(outs[0], outs[1], "block outputs (two calls)", rtol=1e-10, atol=1e-12)
    assert outs[0][0].abs().sum() > 0
    params = list(fast.parameters()), list(slow.parameters())
    g_fast = grads_of(torch.stack(outs[0]), [x_fast, *params[0]])
    g_slow = grads_of(torch.stack(outs[1]), [x_slow, *params[1]])
    assert_close(list(g_fast), list(g_slow), "block gradients", rtol=1e-9, atol=1e-10)


def neurons_of(block):
    return [m for m in block.modules() if isinstance(m, neuron.LIFNode) or type(m).__name__.endswith("Node")]


def settings(node):
    sg = node.surrogate_function
    return (
        type(node).__name__,
        node.tau,
        node.decay_input,
        node.v_threshold,
        node.v_reset,
        node.detach_reset,
        node.step_mode,
        type(sg).__name__,
        sg.alpha,
    )


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_default_neurons(name):
    block = getattr(layer, name)(8, 2)
    found = {n: settings(m) for n, m in block.named_children() if n.endswith("_lif")}
    lif = ("LIFNode", 2.0, True, 1.0, 0.0, True, "m", "Sigmoid", 4.0)
    attention = (*lif[:3], 0.5, *lif[4:])
    assert found.pop("attn_lif") == attention
    assert found and all(value == lif for value in found.values())
    assert len(found) == (4 if name == "SpikeDrivenSelfAttention" else 2)


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_kwargs_apply_to_every_neuron(name):
    block = getattr(layer, name)(8, 2, v_threshold=0.7, tau=3.0, surrogate_function=surrogate.ATan())
    nodes = [m for n, m in block.named_children() if n.endswith("_lif")]
    assert {(n.v_threshold, n.tau, n.detach_reset, type(n.surrogate_function).__name__) for n in nodes} == {
        (0.7, 3.0, True, "ATan")
    }
    assert len({id(n.surrogate_function) for n in nodes}) == len(nodes)  # each neuron has its own copy


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_neuron_class_replaces_the_defaults(name):
    calls = []

    def recording_lif(**kwargs):
        calls.append(kwargs)
        return neuron.LIFNode(**kwargs)

    block = getattr(layer, name)(8, 2, spiking_neuron=recording_lif, tau=4.0, step_mode="m")
    assert calls and all(kwargs == {"tau": 4.0, "step_mode": "m"} for kwargs in calls)
    nodes = [m for n, m in block.named_children() if n.endswith("_lif")]
    assert {(n.v_threshold, n.detach_reset) for n in nodes} == {(1.0, False)}
    plain = getattr(layer, name)(8, 2, spiking_neuron=neuron.IFNode)
    assert all(type(m).__name__ == "IFNode" for n, m in plain.named_children() if n.endswith("_lif"))


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_construction_errors(name):
    cls = getattr(layer, name)
    with pytest.raises(ValueError, match=name):
        cls(10, 4)
    with pytest.raises(ValueError, match=f"{name}.*step_mode"):
        cls(8, 2, step_mode="s")
    with pytest.raises(ValueError, match=f"{name}.*step_mode"):
        cls(8, 2, spiking_neuron=neuron.LIFNode, step_mode="s")


def test_qka_type_rules():
    assert layer.QKAttention(8).qka_type == "token"
    assert layer.TokenQKAttention(8).qka_type == "token"
    assert layer.ChannelQKAttention(8).qka_type == "channel"
    with pytest.raises(ValueError, match=r"QKAttention.*qka_type"):
        layer.QKAttention(8, qka_type="spatial")
    with pytest.raises(AttributeError):
        layer.QKAttention(8).qka_type = "channel"
    for cls in (layer.TokenQKAttention, layer.ChannelQKAttention):
        assert issubclass(cls, layer.QKAttention)
        with pytest.raises(TypeError, match=cls.__name__):
            cls(8, qka_type="token")


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("SpikingSelfAttention", (2, 1, 8, 5), [(1, 8, 5), (2, 1, 6, 5)]),
        ("QKAttention", (2, 1, 8, 5), [(2, 1, 8, 5, 1), (2, 1, 4, 5)]),
        ("SpikeDrivenSelfAttention", (2, 1, 8, 2, 2), [(2, 1, 8, 4), (2, 1, 4, 2, 2)]),
    ],
)
def test_input_errors_leave_state_alone(name, good, bad):
    block = getattr(layer, name)(8, 2)
    block(torch.ones(good))
    before = {n: m.v.clone() for n, m in block.named_children() if n.endswith("_lif")}
    for shape in bad:
        with pytest.raises(ValueError, match=name):
            block(torch.ones(shape))
    after = {n: m.v for n, m in block.named_children() if n.endswith("_lif")}
    assert_close(list(after.values()), list(before.values()), "state after a rejected input", rtol=0, atol=0)


@pytest.mark.parametrize("name", TOKEN_BLOCKS)
def test_state_carries_until_reset(name):
    torch.manual_seed(0)
    block = firing(lambda: getattr(layer, name)(8, 2))().double().eval()
    x = spikes(3, 2, 8, 5)
    first, second = block(x), block(x)
    assert not torch.equal(first, second)
    functional.reset_net(block)
    assert torch.equal(block(x), first)


def test_state_dict_keys():
    ssa = layer.SpikingSelfAttention(8, 2)
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert set(ssa.state_dict()) == {
        "qkv_conv_bn.0.weight",
        "proj_conv_bn.0.weight",
        *(f"qkv_conv_bn.1.{k}" for k in bn),
        *(f"proj_conv_bn.1.{k}" for k in bn),
    }
    assert ssa.state_dict()["qkv_conv_bn.0.weight"].shape == (24, 8, 1)
    assert (ssa.dim, ssa.num_heads, ssa.head_dim, ssa.scale) == (8, 2, 4, 0.125)
    qk = layer.QKAttention(8, 2)
    assert qk.state_dict()["qk_conv_bn.0.weight"].shape == (16, 8, 1)
    sdsa = layer.SpikeDrivenSelfAttention(8, 2)
    convs = {f"{p}_conv.weight" for p in "qkv"} | {"proj_conv.weight", "proj_conv.bias"}
    norms = {f"{p}_bn.{k}" for p in ("q", "k", "v", "proj") for k in bn}
    assert set(sdsa.state_dict()) == convs | norms


def test_sdsa_default_shortcut_is_silent_on_binary_input():
    block = layer.SpikeDrivenSelfAttention(8, 2).double().eval()
    x = spikes(6, 2, 8, 3, 3)
    y = block(x)
    assert block.shortcut_lif.v.max() < 1.0
    expected = block.proj_bn(block.proj_conv(torch.zeros(12, 8, 3, 3, dtype=x.dtype))).unflatten(0, (6, 2)) + x
    assert_close(y, expected, "silent attention branch", rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_set_step_mode_leaves_the_neurons_in_multi_step(name):
    block = getattr(layer, name)(8, 2)
    functional.set_step_mode(block, "s")
    assert {m.step_mode for n, m in block.named_children() if n.endswith("_lif")} == {"m"}
