"""Surrogate-gradient functions: Heaviside forward, the documented gradient backward,
the primitive with ``spiking=False``, and the reference's signatures and helpers."""

import inspect
import math

import pytest
import torch

from spikelayers import surrogate as namespace
from spikelayers.testing import assert_close
from spikelayers_neuron import surrogate as sg
from spikelayers_neuron.surrogate import (
    S2NN,
    ATan,
    Erf,
    FakeNumericalGradient,
    LeakyKReLU,
    LogTailedReLU,
    NonzeroSignLogAbs,
    PiecewiseExp,
    PiecewiseLeakyReLU,
    PiecewiseQuadratic,
    QPseudoSpike,
    Sigmoid,
    SoftSign,
    SquarewaveFourierSeries,
    fused_derivative,
    heaviside,
)

# The reference's constructors: (name, default) in order.
SIGNATURES = {
    PiecewiseQuadratic: [("alpha", 1.0), ("spiking", True)],
    PiecewiseExp: [("alpha", 1.0), ("spiking", True)],
    Sigmoid: [("alpha", 4.0), ("spiking", True)],
    SoftSign: [("alpha", 2.0), ("spiking", True)],
    ATan: [("alpha", 2.0), ("spiking", True)],
    NonzeroSignLogAbs: [("alpha", 1.0), ("spiking", True)],
    Erf: [("alpha", 2.0), ("spiking", True)],
    PiecewiseLeakyReLU: [("w", 1.0), ("c", 0.01), ("spiking", True)],
    SquarewaveFourierSeries: [("n", 2), ("T_period", 8), ("spiking", True)],
    S2NN: [("alpha", 4.0), ("beta", 1.0), ("spiking", True)],
    QPseudoSpike: [("alpha", 2.0), ("spiking", True)],
    LeakyKReLU: [("spiking", True), ("leak", 0.0), ("k", 1.0)],
    FakeNumericalGradient: [("alpha", 0.3)],
    LogTailedReLU: [("alpha", 0.0), ("spiking", True)],
}


# The gradient of each surrogate as the reference computes it (Part 3 of the reference text).
GRADIENTS = {
    "PiecewiseQuadratic(0.8)": (
        PiecewiseQuadratic(0.8),
        lambda x: torch.clamp(0.8 - 0.64 * x.abs(), min=0),
    ),
    "PiecewiseExp(1.5)": (PiecewiseExp(1.5), lambda x: 0.75 * torch.exp(-1.5 * x.abs())),
    "Sigmoid(4)": (Sigmoid(), lambda x: 4 * torch.sigmoid(4 * x) * (1 - torch.sigmoid(4 * x))),
    "SoftSign(2)": (SoftSign(), lambda x: 2 / (2 * (1 + (2 * x).abs()) ** 2)),
    "ATan(2)": (ATan(), lambda x: 2 / (2 * (1 + (math.pi * x) ** 2))),
    "NonzeroSignLogAbs(1.5)": (NonzeroSignLogAbs(1.5), lambda x: 1.5 / (1 + (1.5 * x).abs())),
    "Erf(2)": (Erf(), lambda x: 2 / math.sqrt(math.pi) * torch.exp(-4 * x**2)),
    "PiecewiseLeakyReLU(0.5, 0.1)": (
        PiecewiseLeakyReLU(0.5, 0.1),
        lambda x: torch.where(x.abs() < 0.5, torch.full_like(x, 1.0), torch.full_like(x, 0.1)),
    ),
    "SquarewaveFourierSeries(3, 4)": (
        SquarewaveFourierSeries(3, 4.0),
        lambda x: torch.cos(math.pi / 2 * x) + torch.cos(3 * math.pi / 2 * x),
    ),
    "S2NN(4, 1)": (
        S2NN(),
        lambda x: torch.where(x < 0, 4 * torch.sigmoid(4 * x) * (1 - torch.sigmoid(4 * x)), 1 / (x.abs() + 1)),
    ),
    "QPseudoSpike(3)": (QPseudoSpike(3.0), lambda x: (1 + x.abs()) ** -3),
    "LeakyKReLU(0.1, 2)": (
        LeakyKReLU(True, 0.1, 2.0),
        lambda x: torch.where(x >= 0, torch.full_like(x, 2.0), torch.full_like(x, 0.1)),
    ),
    "FakeNumericalGradient(0.3)": (FakeNumericalGradient(), lambda x: torch.clamp(1 / x.abs(), max=0.3)),
    "LogTailedReLU(0.2)": (
        LogTailedReLU(0.2),
        lambda x: torch.where(x <= 0, torch.full_like(x, 0.2), torch.where(x <= 1, torch.ones_like(x), 1 / x)),
    ),
}
WITH_PRIMITIVE = [key for key in GRADIENTS if not key.startswith("FakeNumerical")]


def _points():
    # Off the pieces' boundaries (0, +-1, +-w, +-1/alpha), where one-sided derivatives differ.
    return torch.linspace(-2.5, 2.5, 51, dtype=torch.float64) + 0.0123


def test_heaviside():
    x = torch.tensor([-1.0, -0.0, 0.0, 2.0], dtype=torch.float64)
    assert torch.equal(heaviside(x), torch.tensor([0.0, 1.0, 1.0, 1.0], dtype=torch.float64))
    assert heaviside(torch.tensor([1.0], requires_grad=True)).requires_grad is False
    assert heaviside(torch.zeros(2, dtype=torch.bfloat16)).dtype == torch.bfloat16


@pytest.mark.parametrize("cls", list(SIGNATURES), ids=lambda c: c.__name__)
def test_signature_matches_reference(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == SIGNATURES[cls]


def test_every_class_resolves_through_the_namespace():
    for cls in SIGNATURES:
        assert getattr(namespace, cls.__name__) is cls
    assert namespace.heaviside is heaviside
    assert namespace.SurrogateFunctionBase is sg.SurrogateFunctionBase
    assert namespace.MultiArgsSurrogateFunctionBase is sg.MultiArgsSurrogateFunctionBase
    assert namespace.sigmoid is sg.sigmoid and namespace.log_tailed_relu is sg.log_tailed_relu
    assert len(sg.SURROGATE_CLASSES) == 14 and set(sg.SURROGATE_CLASSES) == set(SIGNATURES)


@pytest.mark.parametrize("key", list(GRADIENTS))
def test_forward_is_heaviside_and_backward_the_documented_gradient(key):
    surrogate, gradient = GRADIENTS[key]
    x = _points().requires_grad_()
    y = surrogate(x)
    assert torch.equal(y, heaviside(x.detach()))
    weight = torch.linspace(0.5, 1.5, x.numel(), dtype=torch.float64)
    (y * weight).sum().backward()
    assert_close(x.grad, weight * gradient(x.detach()), f"{key}: surrogate gradient", rtol=1e-12, atol=1e-12)
    assert_close(surrogate.derivative(x.detach()), gradient(x.detach()), f"{key}: derivative", rtol=1e-12)
    assert_close(surrogate.derivative_(x.detach().clone()), gradient(x.detach()), f"{key}: derivative_", rtol=1e-12)


@pytest.mark.parametrize("key", WITH_PRIMITIVE)
def test_gradient_is_derivative_of_primitive(key):
    surrogate, _ = GRADIENTS[key]
    x = _points().requires_grad_()
    surrogate.primitive(x).sum().backward()
    # S2NN's primitive carries 1e-5 inside its log; its gradient is the exact 1/(x+1).
    tol = 1e-4 if key.startswith("S2NN") else 1e-10
    assert_close(surrogate.derivative(x.detach()), x.grad, f"{key}: g' vs autograd of g", rtol=tol, atol=tol)


@pytest.mark.parametrize("key", WITH_PRIMITIVE)
def test_non_spiking_forward_is_the_primitive(key):
    surrogate, _ = GRADIENTS[key]
    x = _points()
    smooth = type(surrogate).__new__(type(surrogate))
    smooth.__dict__.update(surrogate.__dict__)
    smooth.set_spiking_mode(False)
    assert_close(smooth(x), smooth.primitive(x), f"{key}(spiking=False)")
    assert not torch.equal(smooth(x), heaviside(x))
    assert surrogate.spiking, "set_spiking_mode on a copy must not change the original"


def test_documented_primitive_values():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64)
    expect = {
        PiecewiseQuadratic(): [0.0, 0.125, 0.5, 0.875, 1.0],
        PiecewiseExp(): [math.exp(-3) / 2, math.exp(-0.5) / 2, 0.5, 1 - math.exp(-0.5) / 2, 1 - math.exp(-3) / 2],
        SoftSign(): [0.5 * (-6 / 7 + 1), 0.25, 0.5, 0.75, 0.5 * (6 / 7 + 1)],
        NonzeroSignLogAbs(): [-math.log(4), -math.log(1.5), 0.0, math.log(1.5), math.log(4)],
        Erf(): [math.erfc(6) / 2, math.erfc(1) / 2, 0.5, math.erfc(-1) / 2, math.erfc(-6) / 2],
        PiecewiseLeakyReLU(): [-0.02, 0.25, 0.5, 0.75, 1.02],
        SquarewaveFourierSeries(): [0.5 + 2 / math.pi * math.sin(v * math.pi / 4) for v in (-3.0, -0.5, 0.0, 0.5, 3.0)],
        S2NN(): [1 / (1 + math.exp(12)), 1 / (1 + math.exp(2)), *(math.log(v + 1e-5) + 0.5 for v in (1, 1.5, 4))],
        QPseudoSpike(): [0.5 / 7, 0.25, 0.5, 0.75, 1 - 0.5 / 7],
        LeakyKReLU(True, 0.1, 2.0): [-0.3, -0.05, 0.0, 1.0, 6.0],
        LogTailedReLU(0.1): [-0.3, -0.05, 0.0, 0.5, math.log(3) + 1],
    }
    for surrogate, values in expect.items():
        got = surrogate.primitive(x)
        assert torch.isfinite(got).all(), repr(surrogate)
        assert_close(got, torch.tensor(values, dtype=torch.float64), repr(surrogate), rtol=1e-9, atol=1e-12)


def test_reference_defects_are_fixed():
    # NonzeroSignLogAbs: spiking-mode backward works (the reference raises).
    x = torch.tensor([-1.0, 0.5], requires_grad=True)
    NonzeroSignLogAbs()(x).sum().backward()
    assert_close(x.grad, 1 / (1 + x.detach().abs()), "NonzeroSignLogAbs gradient")
    # LogTailedReLU: the primitive is finite for x <= 0 and so is its gradient at 0.
    x = torch.tensor([-1.0, 0.0, 0.5, 2.0], requires_grad=True)
    y = LogTailedReLU(0.1, spiking=False)(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()


def test_fake_numerical_gradient_has_no_primitive():
    surrogate = FakeNumericalGradient()
    surrogate.set_spiking_mode(False)
    with pytest.raises(NotImplementedError, match="FakeNumericalGradient"):
        surrogate(torch.zeros(2))
    grad = torch.tensor([0.0, 2.0, -10.0], requires_grad=True)
    FakeNumericalGradient()(grad).sum().backward()
    assert_close(grad.grad, torch.tensor([0.3, 0.3, 0.1]), "min(1/|x|, alpha), alpha at 0")


def test_static_methods_and_helpers_of_the_reference():
    x = _points()
    ones = torch.ones_like(x)
    assert_close(Sigmoid.backward(ones, x, 4.0), Sigmoid().derivative(x), "Sigmoid.backward")
    assert_close(LeakyKReLU.backward(ones, x, 0.1, 2.0), LeakyKReLU(True, 0.1, 2.0).derivative(x), "backward")
    grad, none = sg.atan_backward(ones * 2, x, 2.0)
    assert none is None
    assert_close(grad, 2 * ATan().derivative(x), "atan_backward")
    assert sg.piecewise_leaky_relu_backward(ones, x, 1.0, 0.01)[1:] == (None, None)
    y = x.clone().requires_grad_()
    sg.s2nn.apply(y, 4.0, 1.0).sum().backward()
    assert_close(y.grad, S2NN().derivative(x), "s2nn.apply")
    assert_close(Erf.primitive_function(x, 2.0), Erf().primitive(x), "static primitive_function")
    assert torch.equal(PiecewiseExp.spiking_function(x, 1.0), heaviside(x))


def test_integer_parameters_mean_the_same_number():
    x = _points()
    assert_close(Sigmoid(alpha=4).derivative(x), Sigmoid(alpha=4.0).derivative(x), "int alpha")
    assert_close(PiecewiseLeakyReLU(w=1, c=0).primitive(x), PiecewiseLeakyReLU(1.0, 0.0).primitive(x), "int w")


def test_invalid_parameters_are_refused_with_the_class_name():
    with pytest.raises(ValueError, match=r"SoftSign.*alpha"):
        SoftSign(alpha=0.0)
    with pytest.raises(ValueError, match=r"PiecewiseLeakyReLU.*w"):
        PiecewiseLeakyReLU(w=-1.0)
    with pytest.raises(TypeError, match=r"SquarewaveFourierSeries.*n"):
        SquarewaveFourierSeries(n=2.0)
    with pytest.raises(ValueError, match=r"SquarewaveFourierSeries.*T_period"):
        SquarewaveFourierSeries(T_period=0)
    with pytest.raises(ValueError, match=r"QPseudoSpike.*alpha"):
        QPseudoSpike(alpha=1.0)


def test_base_classes_raise_until_defined():
    base = sg.SurrogateFunctionBase(1.0)
    with pytest.raises(NotImplementedError, match="spiking_function"):
        base(torch.zeros(1))
    base.set_spiking_mode(False)
    with pytest.raises(NotImplementedError, match="primitive_function"):
        base(torch.zeros(1))
    multi = sg.MultiArgsSurrogateFunctionBase(True, 1.0, k=2)
    assert multi.spiking is True
    assert repr(ATan()) == "ATan(alpha=2.0, spiking=True)"


def test_fused_kernels_use_a_derivative_only_when_it_matches_the_forward():
    assert fused_derivative(Sigmoid()) is not None
    assert fused_derivative(Sigmoid(spiking=False)) is None

    class OwnSpikingFunction(Sigmoid):
        @staticmethod
        def spiking_function(x, alpha):
            return sg.atan.apply(x, alpha)

    class OwnEverything(Sigmoid):
        @staticmethod
        def spiking_function(x, alpha):
            return sg.atan.apply(x, alpha)

        def derivative(self, x):
            return ATan(self.alpha).derivative(x)

    assert fused_derivative(OwnSpikingFunction()) is None
    assert fused_derivative(OwnEverything()) is not None
    assert fused_derivative(torch.nn.Sigmoid()) is None


def test_check_manual_grad(capsys):
    def s2nn_apply(x, alpha, beta):
        return sg.s2nn.apply(x, alpha, beta)

    difference = namespace.check_manual_grad(S2NN.primitive_function, s2nn_apply, alpha=4.0, beta=1.0)
    assert difference < 1e-4 and "max abs difference" in capsys.readouterr().out
    assert namespace.check_manual_grad(Sigmoid.primitive_function, ATan.spiking_function, 4.0) > 0.1
