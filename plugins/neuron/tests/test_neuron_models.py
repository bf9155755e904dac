"""Every neuron of the reference: signatures, memories, one step by hand, argument checks,
integer inputs, dtype changes mid-sequence, eval mode and the extension surface."""

import inspect
import math

import pytest
import torch

from spikelayers import functional, neuron
from spikelayers.errors import StateShapeError
from spikelayers.testing import assert_close
from spikelayers_neuron.surrogate import Sigmoid

BASE = [("v_threshold", 1.0), ("v_reset", 0.0), ("surrogate_function", "Sigmoid"), ("detach_reset", False)]
TAIL = [("step_mode", "s"), ("backend", "torch"), ("store_v_seq", False)]
ADAPT = [("w_rest", 0.0), ("tau_w", 2.0), ("a", 0.0), ("b", 0.0)]
# The reference's constructors, in order, with their defaults.
SIGNATURES = {
    "SimpleBaseNode": [*BASE, ("step_mode", "s")],
    "BaseNode": BASE + TAIL,
    "AdaptBaseNode": [*BASE[:2], ("v_rest", 0.0), *ADAPT, *BASE[2:], *TAIL],
    "IFNode": BASE + TAIL,
    "LIFNode": [("tau", 2.0), ("decay_input", True), *BASE, *TAIL],
    "ParametricLIFNode": [("init_tau", 2.0), ("decay_input", True), *BASE, *TAIL],
    "QIFNode": [
        ("tau", 2.0),
        ("v_c", 0.8),
        ("a0", 1.0),
        ("v_threshold", 1.0),
        ("v_rest", 0.0),
        ("v_reset", -0.1),
        *BASE[2:],
        *TAIL,
    ],
    "EIFNode": [
        ("tau", 2.0),
        ("delta_T", 1.0),
        ("theta_rh", 0.8),
        ("v_threshold", 1.0),
        ("v_rest", 0.0),
        ("v_reset", -0.1),
        *BASE[2:],
        *TAIL,
    ],
    "IzhikevichNode": [
        ("tau", 2.0),
        ("v_c", 0.8),
        ("a0", 1.0),
        ("v_threshold", 1.0),
        ("v_reset", 0.0),
        ("v_rest", -0.1),
        *ADAPT,
        *BASE[2:],
        *TAIL,
    ],
    "KLIFNode": [("scale_reset", False), ("tau", 2.0), ("decay_input", True), *BASE, *TAIL],
    "SLTTLIFNode": [("tau", 2.0), ("decay_input", True), *BASE[:3], ("detach_reset", True), *TAIL],
}


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_signature_matches_reference(name):
    params = list(inspect.signature(getattr(neuron, name).__init__).parameters.values())[1:]
    assert [p.name for p in params] == [n for n, _ in SIGNATURES[name]]
    for param, (pname, default) in zip(params, SIGNATURES[name]):
        if default == "Sigmoid":
            assert type(param.default) is Sigmoid and param.default.alpha == 4.0, pname
        else:
            assert param.default == default and type(param.default) is type(default), pname


def test_liaf_signature():
    params = list(inspect.signature(neuron.LIAFNode.__init__).parameters.values())[1:]
    assert [(p.name, p.kind.name) for p in params] == [
        ("act", "POSITIONAL_OR_KEYWORD"),
        ("threshold_related", "POSITIONAL_OR_KEYWORD"),
        ("args", "VAR_POSITIONAL"),
        ("kwargs", "VAR_KEYWORD"),
    ]


INITIAL_MEMORIES = {
    "QIFNode": {"v": -0.1},
    "EIFNode": {"v": -0.1},
    "IzhikevichNode": {"v": 0.0, "w": 0.0},
    "KLIFNode": {"v": 0.0},
    "SLTTLIFNode": {"v": 0.0},
}


@pytest.mark.parametrize("name", list(INITIAL_MEMORIES))
def test_memories_and_reset(name):
    node = getattr(neuron, name)()
    assert dict(node.named_memories()) == INITIAL_MEMORIES[name]
    node(torch.randn(2, 3))
    assert all(isinstance(value, torch.Tensor) for value in node.memories())
    assert "v" not in node.state_dict() and "w" not in node.state_dict()
    functional.reset_net(node)
    assert dict(node.named_memories()) == INITIAL_MEMORIES[name]


def test_one_step_by_hand():
    x = torch.tensor([0.3, 2.5])
    qif = neuron.QIFNode()
    # v = -0.1: H = -0.1 + (x + (-0.1)(-0.9)) / 2
    h = -0.1 + (x + 0.09) / 2
    assert_close(qif(x), (h >= 1).float(), "QIF spike")
    assert_close(qif.v, torch.where(h >= 1, torch.tensor(-0.1), h), "QIF v")
    eif = neuron.EIFNode(v_reset=None)
    h = 0.0 + (x + 0.0 - 0.0 + math.exp(-0.8)) / 2
    assert_close(eif(x), (h >= 1).float(), "EIF spike")
    assert_close(eif.v, h - (h >= 1).float(), "EIF v (soft reset)")
    izh = neuron.IzhikevichNode(a=0.5, b=0.25)
    h = 0.0 + (x + 1.0 * (0.1) * (-0.8) - 0.0) / 2
    s = (h >= 1).float()
    assert_close(izh(x), s, "Izhikevich spike")
    assert_close(izh.v, h * (1 - s), "Izhikevich v")
    assert_close(izh.w, (0.5 * (h + 0.1)) / 2 + 0.25 * s, "Izhikevich w")
    klif = neuron.KLIFNode(scale_reset=True)
    with torch.no_grad():
        klif.k.fill_(2.0)
    h = torch.relu(2.0 * (x / 2))
    s = (h >= 1).float()
    assert_close(klif(x), s, "KLIF spike")
    assert_close(klif.v, (1 - s) * h / 2, "KLIF v (scaled hard reset)")


def test_liaf_outputs_the_activation_and_resets_with_the_spike():
    x = torch.tensor([[0.4, 3.0], [0.4, 0.0]])
    for mode in ("s", "m"):
        node = neuron.LIAFNode(torch.tanh, True, tau=2.0, step_mode=mode)
        y = node(x) if mode == "m" else torch.stack([node(x_t) for x_t in x])
        # step 0: H = [0.2, 1.5] -> y = tanh(H - 1), second fires; step 1: H = [0.3, 0.0]
        assert_close(y, torch.tanh(torch.tensor([[0.2, 1.5], [0.3, 0.0]]) - 1), f"LIAF '{mode}'")
        assert_close(node.v, torch.tensor([0.3, 0.0]), f"LIAF '{mode}' v")
    node = neuron.LIAFNode(torch.relu, False).eval()
    assert_close(node(torch.tensor([0.8])), torch.tensor([0.4]), "LIAF in eval: act(H), not a spike")


def test_sltt_gradient_does_not_flow_through_time():
    x = torch.full((3, 2), 0.9, requires_grad=True)
    node = neuron.SLTTLIFNode()
    spikes = [node(x_t) for x_t in x]
    spikes[2].sum().backward()
    assert x.grad[0].abs().sum() == 0 and x.grad[1].abs().sum() == 0 and x.grad[2].abs().sum() > 0
    with pytest.raises(ValueError, match="SLTTLIFNode"):
        neuron.SLTTLIFNode(step_mode="m")


def test_klif_k_and_izhikevich_w_get_gradients():
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0)) + 1.0
    klif = neuron.KLIFNode(step_mode="m")
    klif(x).sum().backward()
    assert klif.k.grad is not None and klif.k.grad != 0
    izh = neuron.IzhikevichNode(a=0.4, b=0.3, step_mode="m")
    xi = x.clone().requires_grad_()
    izh(xi)
    izh.w.sum().backward()
    assert xi.grad.abs().sum() > 0


def test_eval_mode_keeps_the_surrogate_gradient():
    for name in ("IFNode", "LIFNode", "SLTTLIFNode", "QIFNode"):
        node = getattr(neuron, name)().eval()
        x = torch.tensor([0.9, 2.5], requires_grad=True)
        spike = node(x)
        assert spike.requires_grad, name
        spike.sum().backward()
        assert x.grad.abs().sum() > 0, name


def test_integer_arguments_mean_the_same_number():
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1)) + 0.7
    pairs = [
        (neuron.LIFNode(tau=2, v_threshold=1, v_reset=0), neuron.LIFNode()),
        (neuron.QIFNode(tau=3, a0=1, v_reset=None), neuron.QIFNode(tau=3.0, v_reset=None)),
        (neuron.IzhikevichNode(a=1, b=0, tau_w=3), neuron.IzhikevichNode(a=1.0, tau_w=3.0)),
    ]
    for a, b in pairs:
        functional.set_step_mode(a, "m")
        functional.set_step_mode(b, "m")
        assert_close(a(x), b(x), type(a).__name__)
        assert isinstance(a.v_threshold, float)


def test_invalid_arguments_name_the_class():
    with pytest.raises(ValueError, match=r"QIFNode.*tau"):
        neuron.QIFNode(tau=1.0)
    with pytest.raises(ValueError, match=r"QIFNode.*v_threshold.*v_reset"):
        neuron.QIFNode(v_threshold=-0.5)
    with pytest.raises(ValueError, match=r"EIFNode.*v_rest"):
        neuron.EIFNode(v_rest=-0.5)
    with pytest.raises(ValueError, match=r"EIFNode.*delta_T"):
        neuron.EIFNode(delta_T=0.0)
    with pytest.raises(ValueError, match=r"IzhikevichNode.*a0"):
        neuron.IzhikevichNode(a0=-1.0)
    with pytest.raises(TypeError, match=r"IFNode.*v_threshold"):
        neuron.IFNode(v_threshold="1")
    with pytest.raises(TypeError, match=r"LIFNode.*detach_reset"):
        neuron.LIFNode(detach_reset=1)
    with pytest.raises(ValueError, match=r"KLIFNode.*backend"):
        neuron.KLIFNode(backend="cupy")
    with pytest.raises(ValueError, match=r"LIAFNode.*backend"):
        neuron.LIAFNode(torch.tanh, True, backend="triton")


ALL_NEURONS = {
    "IFNode": {},
    "LIFNode": {},
    "ParametricLIFNode": {},
    "QIFNode": {},
    "EIFNode": {},
    "IzhikevichNode": {"a": 0.3, "b": 0.2},
    "KLIFNode": {},
    "LIAFNode": {"act": torch.tanh, "threshold_related": False},
}


@pytest.mark.parametrize("name", list(ALL_NEURONS))
@pytest.mark.parametrize("dtype", [torch.long, torch.bool, torch.uint8])
def test_integer_and_bool_spikes_give_the_float_result(name, dtype):
    spikes = torch.rand(5, 3, 4, generator=torch.Generator().manual_seed(3)) < 0.6
    for mode in ("s", "m"):
        nodes = [getattr(neuron, name)(**ALL_NEURONS[name]) for _ in range(2)]
        outputs = []
        for node, x in zip(nodes, (spikes.to(dtype), spikes.float())):
            functional.set_step_mode(node, mode)
            outputs.append(node(x) if mode == "m" else torch.stack([node(x_t) for x_t in x]))
        assert outputs[0].dtype == torch.float32
        assert_close(outputs[0], outputs[1], f"{name} '{mode}' with {dtype} spikes")
        assert_close(nodes[0].v, nodes[1].v, f"{name} '{mode}' v after {dtype} spikes")


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="LIFNode"):
        neuron.LIFNode()(torch.zeros(2, dtype=torch.complex64))


@pytest.mark.parametrize("name", list(ALL_NEURONS))
@pytest.mark.parametrize("mode", ["s", "m"])
def test_dtype_change_mid_sequence_promotes(name, mode):
    """A float32 step then a float64 step (or ``.double()`` between them) gives the float64
    result of the same computation, as torch's own ops would."""
    x = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.6
    expected_node = getattr(neuron, name)(**ALL_NEURONS[name]).double()
    first = x[:2].float().double()  # the float32 steps, as a float64 run would see them
    for node in (expected_node,):
        functional.set_step_mode(node, mode)
    run = (lambda n, s: n(s)) if mode == "m" else (lambda n, s: torch.stack([n(t) for t in s]))
    run(expected_node, first)
    expected = run(expected_node, x[2:])
    for convert in (False, True):
        node = getattr(neuron, name)(**ALL_NEURONS[name])
        functional.set_step_mode(node, mode)
        run(node, x[:2].float())
        if convert:
            node.double()
        out = run(node, x[2:])
        assert out.dtype == torch.float64, f"{name}: {out.dtype}"
        assert node.v.dtype == torch.float64
        assert_close(out, expected, f"{name} '{mode}' float32 then float64 (double()={convert})", rtol=1e-5)
        assert_close(node.v, expected_node.v, f"{name} '{mode}' v", rtol=1e-5, atol=1e-6)


def test_dtype_change_inside_a_recurrent_container():
    recurrent = pytest.importorskip("spikelayers_recurrent")
    container = recurrent.ElementWiseRecurrentContainer(neuron.LIFNode(), element_wise_function=lambda x, y: x + y)
    x = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64) + 0.5
    container(x[0].float())
    container.double()
    out = container(x[1])
    assert out.dtype == torch.float64


def test_base_node_needs_a_charge():
    node = neuron.BaseNode()
    with pytest.raises(NotImplementedError, match="neuronal_charge"):
        node(torch.zeros(2))
    assert node.v == 0.0


def test_store_v_seq_registers_a_memory_when_switched_on():
    node = neuron.QIFNode(step_mode="m")
    assert "v_seq" not in dict(node.named_memories())
    node.store_v_seq = True
    assert dict(node.named_memories())["v_seq"] is None
    node(torch.randn(3, 2))
    assert node.v_seq.shape == (3, 2)
    node.store_v_seq = False
    assert "v_seq" in dict(node.named_memories())


def test_a_failed_call_leaves_the_state_as_it_was():
    node = neuron.QIFNode(step_mode="m")
    node(torch.randn(3, 2, 4))
    v = node.v.clone()
    with pytest.raises(StateShapeError, match="QIFNode"):
        node(torch.randn(3, 5, 4))
    assert torch.equal(node.v, v)

    class Faulty(neuron.BaseNode):
        def neuronal_charge(self, x):
            if (x > 5).any():
                raise ValueError("Faulty: input above 5")
            self.v = self.v + x

    faulty = Faulty(step_mode="m")
    faulty(torch.ones(2, 3))
    v = faulty.v.clone()
    x = torch.ones(3, 3)
    x[2] = 9.0
    with pytest.raises(ValueError, match="Faulty"):
        faulty(x)
    assert torch.equal(faulty.v, v)


def test_each_neuron_gets_its_own_default_surrogate():
    for name in ("SimpleBaseNode", "BaseNode", "QIFNode", "KLIFNode", "IzhikevichNode", "SLTTLIFNode"):
        a, b = getattr(neuron, name)(), getattr(neuron, name)()
        assert isinstance(a.surrogate_function, Sigmoid) and a.surrogate_function is not b.surrogate_function
