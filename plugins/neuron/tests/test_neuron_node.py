"""The neuron modules: signatures, registry, memories, step modes, backends, dtypes."""

import inspect
import math

import pytest
import torch

from spikelayers import functional, neuron, surrogate
from spikelayers.errors import BackendUnavailableError
from spikelayers.kernels import get_kernel
from spikelayers.testing import assert_close
from spikelayers_neuron.node import IFNode, LIFNode, ParametricLIFNode
from spikelayers_neuron.surrogate import ATan, Sigmoid

COMMON = [
    ("v_threshold", 1.0),
    ("v_reset", 0.0),
    ("surrogate_function", None),
    ("detach_reset", False),
    ("step_mode", "s"),
    ("backend", "torch"),
    ("store_v_seq", False),
]
SIGNATURES = {
    IFNode: COMMON,
    LIFNode: [("tau", 2.0), ("decay_input", True), *COMMON],
    ParametricLIFNode: [("init_tau", 2.0), ("decay_input", True), *COMMON],
}


@pytest.mark.parametrize("cls", list(SIGNATURES), ids=lambda c: c.__name__)
def test_signature_matches_reference(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in params] == [name for name, _ in SIGNATURES[cls]]
    for param, (name, default) in zip(params, SIGNATURES[cls]):
        if name == "surrogate_function":
            assert type(param.default) is Sigmoid and param.default.alpha == 4.0 and param.default.spiking
        else:
            assert param.default == default, name


def test_registry_resolves():
    assert neuron.LIFNode is LIFNode and neuron.IFNode is IFNode and neuron.ParametricLIFNode is ParametricLIFNode
    assert surrogate.ATan is ATan
    assert {"Sigmoid", "ATan", "PiecewiseQuadratic"} <= set(dir(surrogate))


def test_default_surrogate_is_not_shared():
    a, b = LIFNode(), LIFNode()
    assert isinstance(a.surrogate_function, Sigmoid) and a.surrogate_function is not b.surrogate_function


def test_v_memory_readable_between_steps_and_not_in_state_dict():
    node = LIFNode(tau=2.0)
    assert node.v == 0.0
    x = torch.tensor([[0.8, 3.0]])
    s = node(x)
    assert_close(s, torch.tensor([[0.0, 1.0]]), "first step spikes")
    assert_close(node.v, torch.tensor([[0.4, 0.0]]), "v after one step")
    s = node(x)  # 0.4 + (0.8 - 0.4) / 2 = 0.6
    assert_close(node.v, torch.tensor([[0.6, 0.0]]), "v after two steps")
    assert list(node.state_dict()) == []
    functional.reset_net(node)
    assert node.v == 0.0
    assert IFNode(v_reset=None).v == 0.0 and IFNode(v_reset=-0.5).v == -0.5


def test_soft_and_hard_reset_values():
    x = torch.tensor([[1.5]])
    soft, hard = IFNode(v_reset=None), IFNode(v_reset=-0.25)
    assert soft(x).item() == 1.0 and soft.v.item() == 0.5
    assert hard(x).item() == 1.0 and hard.v.item() == -0.25


def test_lif_without_decay_input():
    node = LIFNode(tau=4.0, decay_input=False, v_reset=None)
    node.v = torch.tensor([0.8])
    node(torch.tensor([0.1]))
    assert_close(node.v, torch.tensor([0.8 - 0.8 / 4 + 0.1]), "v - v/tau + x")


def test_plif_tau_parameter():
    node = ParametricLIFNode(init_tau=3.0)
    assert_close(node.w.sigmoid(), torch.tensor(1 / 3), "1/tau = sigmoid(w)")
    assert list(node.state_dict()) == ["w"]
    assert math.isclose(node.w.item(), -math.log(2.0), rel_tol=1e-6)


@pytest.mark.parametrize("cls", [IFNode, LIFNode, ParametricLIFNode], ids=lambda c: c.__name__)
def test_store_v_seq(cls):
    x = (torch.randn(5, 2, 3) + 0.7).requires_grad_()
    node = cls(store_v_seq=True, step_mode="m")
    single = cls(step_mode="s")
    s = node(x)
    potentials = []
    for x_t in x:
        single(x_t)
        potentials.append(single.v)
    assert node.v_seq.shape == (5, 2, 3)
    assert_close(node.v_seq, torch.stack(potentials), f"{cls.__name__}: v_seq")
    assert_close(node.v, potentials[-1], f"{cls.__name__}: v after 'm'")
    assert s.shape == x.shape
    node.v_seq.sum().backward()  # v_seq is part of the graph
    assert x.grad is not None and x.grad.abs().sum() > 0
    functional.reset_net(node)
    assert node.v_seq is None


@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 5, 1, 2), (2, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_any_shape_and_dtype(shape, dtype):
    node = LIFNode(step_mode="m").to(dtype)
    x = (torch.randn(shape) * 2).to(dtype)
    s = node(x)
    assert s.shape == x.shape and s.dtype == dtype and node.v.dtype == dtype


def test_bad_input_names_layer():
    with pytest.raises(ValueError, match=r"LIFNode.*\[T, N, \*\]"):
        LIFNode(step_mode="m")(torch.ones(3))
    with pytest.raises(TypeError, match="IFNode"):
        IFNode()([1.0, 2.0])
    with pytest.raises(ValueError, match="tau"):
        LIFNode(tau=0.5)
    node = IFNode()
    node(torch.zeros(2, 3))
    with pytest.raises(RuntimeError, match="reset_net"):
        node(torch.zeros(4, 3))


def test_batch_change_in_multi_step_needs_reset():
    node = IFNode(step_mode="m")
    node(torch.zeros(2, 2, 3))
    with pytest.raises(RuntimeError, match="reset_net"):
        node(torch.zeros(2, 4, 3))


def test_unknown_backend_is_refused_clearly():
    with pytest.raises(ValueError, match=r"LIFNode.*backend.*'torch'"):
        LIFNode(backend="cupy")


def test_triton_without_cuda_or_interpreter_raises(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    node = LIFNode(backend="triton", step_mode="m")
    with pytest.raises(BackendUnavailableError, match=r"neuron\.multi_step.*triton.*(CUDA|not installed)"):
        node(torch.randn(3, 2, 4))
    with pytest.raises(BackendUnavailableError, match=r"neuron\.multi_step"):
        get_kernel("neuron.multi_step", "triton", "cpu")


def test_detach_reset_changes_gradient():
    x = torch.randn(6, 4, dtype=torch.float64) + 0.8
    grads = []
    for detach in (False, True):
        xi = x.clone().requires_grad_()
        LIFNode(detach_reset=detach, step_mode="m")(xi).sum().backward()
        grads.append(xi.grad)
    assert not torch.allclose(grads[0], grads[1])


def test_set_step_mode_and_backend():
    net = torch.nn.Sequential(IFNode(), LIFNode())
    functional.set_step_mode(net, "m")
    functional.set_backend(net, "torch")
    assert net(torch.randn(3, 2, 4)).shape == (3, 2, 4)


def test_empty_sequence_keeps_state():
    node = LIFNode(step_mode="m")
    node(torch.ones(2, 3, 4) * 3)
    v = node.v.clone()
    out = node(torch.empty(0, 3, 4))
    assert out.shape == (0, 3, 4)
    assert_close(node.v, v, "v after an empty sequence")
