"""Surrogate-gradient functions: Heaviside forward, the primitive's derivative backward."""

import pytest
import torch

from spikelayers.testing import assert_close
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid, heaviside

SURROGATES = [Sigmoid(), Sigmoid(alpha=2.5), ATan(), ATan(alpha=0.7), PiecewiseQuadratic(), PiecewiseQuadratic(2.0)]


def _points():
    return torch.linspace(-2.0, 2.0, 41, dtype=torch.float64)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_forward_is_heaviside(surrogate):
    x = _points()
    assert torch.equal(surrogate(x), (x >= 0).double())


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_backward_is_derivative_of_primitive(surrogate):
    x = _points().requires_grad_()
    surrogate(x).sum().backward()
    x_smooth = _points().requires_grad_()
    surrogate.primitive(x_smooth).sum().backward()
    assert_close(x.grad, x_smooth.grad, f"{surrogate!r}: surrogate gradient", rtol=1e-12, atol=1e-12)
    assert_close(surrogate.derivative(x.detach()), x_smooth.grad, f"{surrogate!r}: derivative", rtol=1e-12)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_inplace_derivative_matches(surrogate):
    x = _points() * 1.3
    expected = surrogate.derivative(x)
    assert_close(surrogate.derivative_(x.clone()), expected, f"{surrogate!r}: derivative_", rtol=1e-12)


def test_primitives_have_documented_values():
    x = torch.tensor([-10.0, 0.0, 10.0], dtype=torch.float64)
    for surrogate in (Sigmoid(), ATan(), PiecewiseQuadratic()):
        assert_close(
            surrogate.primitive(x), torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), repr(surrogate), atol=2e-2
        )
    assert_close(Sigmoid(alpha=4.0).derivative(torch.zeros(1)), torch.tensor([1.0]), "sigmoid peak")
    assert_close(ATan(alpha=2.0).derivative(torch.zeros(1)), torch.tensor([1.0]), "atan peak")
    assert_close(PiecewiseQuadratic(alpha=1.0).derivative(torch.tensor([0.0, 1.5])), torch.tensor([1.0, 0.0]), "pwq")


@pytest.mark.parametrize("cls", [Sigmoid, ATan, PiecewiseQuadratic])
def test_non_spiking_forward_is_primitive(cls):
    surrogate = cls(spiking=False)
    x = _points()
    assert_close(surrogate(x), surrogate.primitive(x), f"{cls.__name__}(spiking=False)")
    assert not torch.equal(surrogate(x), heaviside(x))


def test_defaults():
    assert (Sigmoid().alpha, ATan().alpha, PiecewiseQuadratic().alpha) == (4.0, 2.0, 1.0)
    assert Sigmoid().spiking and ATan().spiking and PiecewiseQuadratic().spiking
