"""Surrogate-gradient functions: a Heaviside step forward, a smooth derivative backward.

Each function maps a membrane potential above threshold, ``x = h - v_threshold`` (any
shape), to a spike ``heaviside(x) = (x >= 0)``. With ``spiking=True`` the backward
pass uses the derivative ``g'(x)`` of a smooth primitive ``g`` instead of the step's
zero/undefined derivative; with ``spiking=False`` the forward is ``g`` itself.

Every class follows one pattern, which is also how a new surrogate is written:

* an autograd function (lowercase name, e.g. :class:`sigmoid`) whose forward is
  :func:`heaviside` and whose backward multiplies by ``g'``;
* a :class:`SurrogateFunctionBase` (one parameter ``alpha``) or
  :class:`MultiArgsSurrogateFunctionBase` (several) subclass with the static methods
  ``spiking_function(x, *params)`` (applies the autograd function) and
  ``primitive_function(x, *params)`` (``g``, differentiable by autograd). The class
  keyword ``spike=<autograd function>`` writes ``spiking_function`` and
  :meth:`SurrogateFunctionBase.derivative` from the autograd function (and
  ``backward=True`` a static ``backward(grad_output, x, *params)``); the class body
  defines ``primitive_function``.

The built-in classes also have :meth:`SurrogateFunctionBase.derivative` (``g'`` as a
tensor), which the neurons' fused multi-step kernels call instead of autograd.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``1`` where ``x >= 0`` (also at exactly 0), else ``0``, in ``x``'s dtype; no gradient."""
    return (x >= 0).to(x)


# -- surrogate derivatives g'(x) ------------------------------------------------------------


def _piecewise_quadratic_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.clamp(alpha - alpha**2 * x.abs(), min=0.0)


def _piecewise_exp_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return alpha / 2 * torch.exp(-alpha * x.abs())


def _sigmoid_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    sg = torch.sigmoid(alpha * x)
    return alpha * sg * (1.0 - sg)


def _soft_sign_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return 1.0 / (2 * alpha * (1.0 / alpha + x.abs()) ** 2)


def _atan_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2)


def _nonzero_sign_log_abs_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return 1.0 / (1.0 / alpha + x.abs())


def _erf_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return alpha / math.sqrt(math.pi) * torch.exp(-((alpha * x) ** 2))


def _piecewise_leaky_relu_gradient(x: torch.Tensor, w: float, c: float) -> torch.Tensor:
    return torch.where(x.abs() < w, torch.full_like(x, 1.0 / (2 * w)), torch.full_like(x, c))


def _squarewave_fourier_series_gradient(x: torch.Tensor, n: int, T_period: float) -> torch.Tensor:
    omega = 2 * math.pi / T_period
    total = torch.zeros_like(x)
    for i in range(1, n):
        total = total + torch.cos((2 * i - 1) * omega * x)
    return total * (4.0 / T_period)


def _s2nn_gradient(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    sg = torch.sigmoid(alpha * x)
    return torch.where(x < 0, alpha * sg * (1.0 - sg), beta / (x.clamp(min=0.0) + 1.0))


def _q_pseudo_spike_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return (1 + 2 / (alpha - 1) * x.abs()).pow(-alpha)


def _leaky_k_relu_gradient(x: torch.Tensor, leak: float, k: float) -> torch.Tensor:
    return torch.where(x >= 0, torch.full_like(x, k), torch.full_like(x, leak))


def _fake_numerical_gradient_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.clamp(x.abs().reciprocal(), max=alpha)


def _log_tailed_relu_gradient(x: torch.Tensor, alpha: float) -> torch.Tensor:
    tail = x.clamp(min=1.0).reciprocal()
    return torch.where(x <= 0, torch.full_like(x, alpha), torch.where(x <= 1, torch.ones_like(x), tail))


# -- autograd functions: heaviside forward, g' backward -------------------------------------


def _spike_function(name: str, gradient: Callable[..., torch.Tensor]) -> type[torch.autograd.Function]:
    """An autograd function ``name``: heaviside forward, ``grad_output * gradient(x, *params)``
    backward (``None`` for each parameter); ``name.apply(x, *params)`` is the spiking function."""

    def forward(x: torch.Tensor, *params: Any) -> torch.Tensor:
        return heaviside(x)

    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(inputs[0])
            ctx.params = inputs[1:]

    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        return (grad_output * gradient(x, *ctx.params), *([None] * len(ctx.params)))

    doc = f"Autograd function: heaviside forward, ``{gradient.__name__[1:]}`` backward."
    namespace = {
        "forward": staticmethod(forward),
        "setup_context": staticmethod(setup_context),
        "backward": staticmethod(backward),
        # forward and backward are plain torch ops: torch.func.vmap batches them as they are
        "generate_vmap_rule": True,
        "gradient": staticmethod(gradient),
        "__doc__": doc,
    }
    namespace["__module__"] = __name__
    namespace["__qualname__"] = name
    return type(name, (torch.autograd.Function,), namespace)


piecewise_quadratic = _spike_function("piecewise_quadratic", _piecewise_quadratic_gradient)
piecewise_exp = _spike_function("piecewise_exp", _piecewise_exp_gradient)
sigmoid = _spike_function("sigmoid", _sigmoid_gradient)
soft_sign = _spike_function("soft_sign", _soft_sign_gradient)
atan = _spike_function("atan", _atan_gradient)
nonzero_sign_log_abs = _spike_function("nonzero_sign_log_abs", _nonzero_sign_log_abs_gradient)
erf = _spike_function("erf", _erf_gradient)
piecewise_leaky_relu = _spike_function("piecewise_leaky_relu", _piecewise_leaky_relu_gradient)
squarewave_fourier_series = _spike_function("squarewave_fourier_series", _squarewave_fourier_series_gradient)
s2nn = _spike_function("s2nn", _s2nn_gradient)
q_pseudo_spike = _spike_function("q_pseudo_spike", _q_pseudo_spike_gradient)
leaky_k_relu = _spike_function("leaky_k_relu", _leaky_k_relu_gradient)
fake_numerical_gradient = _spike_function("fake_numerical_gradient", _fake_numerical_gradient_gradient)
log_tailed_relu = _spike_function("log_tailed_relu", _log_tailed_relu_gradient)


def _backward_helper(gradient: Callable[..., torch.Tensor], n_params: int) -> Callable[..., tuple[Any, ...]]:
    def helper(grad_output: torch.Tensor, x: torch.Tensor, *params: Any) -> tuple[Any, ...]:
        return (grad_output * gradient(x, *params), *([None] * n_params))

    helper.__name__ = gradient.__name__[1:].replace("_gradient", "_backward")
    helper.__doc__ = "``(grad_output * g'(x), None per parameter)``: the backward of the autograd function."
    return helper


piecewise_quadratic_backward = _backward_helper(_piecewise_quadratic_gradient, 1)
piecewise_exp_backward = _backward_helper(_piecewise_exp_gradient, 1)
sigmoid_backward = _backward_helper(_sigmoid_gradient, 1)
soft_sign_backward = _backward_helper(_soft_sign_gradient, 1)
atan_backward = _backward_helper(_atan_gradient, 1)
nonzero_sign_log_abs_backward = _backward_helper(_nonzero_sign_log_abs_gradient, 1)
erf_backward = _backward_helper(_erf_gradient, 1)
piecewise_leaky_relu_backward = _backward_helper(_piecewise_leaky_relu_gradient, 2)
leaky_k_relu_backward = _backward_helper(_leaky_k_relu_gradient, 2)
fake_numerical_gradient_backward = _backward_helper(_fake_numerical_gradient_gradient, 1)
log_tailed_relu_backward = _backward_helper(_log_tailed_relu_gradient, 1)


# -- base classes ---------------------------------------------------------------------------


class _SurrogateMixin:
    """What both base classes share: the spiking switch and the kernels' derivative."""

    def __init_subclass__(
        cls, spike: type[torch.autograd.Function] | None = None, backward: bool = False, **kwargs: Any
    ) -> None:
        """``class Name(Base, spike=fn)`` defines ``spiking_function`` as ``fn.apply`` and
        :meth:`derivative` as ``fn.gradient`` with the surrogate's parameters, unless the class
        body defines them; ``backward=True`` adds the static ``backward(grad_output, x, *params)``
        returning ``grad_output * fn.gradient(x, *params)``."""
        super().__init_subclass__(**kwargs)
        if spike is None:
            return
        gradient = spike.gradient
        parameters = list(inspect.signature(cls.__dict__["primitive_function"].__func__).parameters.values())

        def spiking_function(x: torch.Tensor, *params: Any) -> torch.Tensor:
            return spike.apply(x, *params)

        def surrogate_backward(grad_output: torch.Tensor, x: torch.Tensor, *params: Any) -> torch.Tensor:
            return grad_output * gradient(x, *params)

        def derivative(self: _SurrogateMixin, x: torch.Tensor) -> torch.Tensor:
            return gradient(x, *self.surrogate_params())

        grad_output = inspect.Parameter(
            "grad_output", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="torch.Tensor"
        )
        methods = {
            "spiking_function": (staticmethod, spiking_function, parameters),
            "derivative": (lambda f: f, derivative, None),
        }
        if backward:
            methods["backward"] = (staticmethod, surrogate_backward, [grad_output, *parameters])
        for name, (wrap, function, signature) in methods.items():
            if name in cls.__dict__:
                continue
            function.__name__ = name
            function.__qualname__ = f"{cls.__qualname__}.{name}"
            if signature is not None:
                function.__signature__ = inspect.Signature(signature, return_annotation="torch.Tensor")
            setattr(cls, name, wrap(function))

    spiking: bool

    def set_spiking_mode(self, spiking: bool) -> None:
        """``True``: heaviside forward, surrogate backward; ``False``: the primitive in both passes."""
        self.spiking = spiking

    def surrogate_params(self) -> tuple[Any, ...]:
        """The parameters passed after ``x`` to ``spiking_function``/``primitive_function``."""
        raise NotImplementedError(f"{type(self).__name__} must define surrogate_params()")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """The smooth primitive ``g(x)`` ``[*] -> [*]`` with this module's parameters."""
        return self.primitive_function(x, *self.surrogate_params())  # type: ignore[attr-defined]

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate derivative ``g'(x)`` ``[*] -> [*]`` (the fused kernels call it)."""
        raise NotImplementedError(f"{type(self).__name__} defines no derivative")

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        """Overwrite ``x`` with :meth:`derivative` of it and return ``x``."""
        return x.copy_(self.derivative(x))


class SurrogateFunctionBase(_SurrogateMixin, nn.Module):
    """Base class of surrogate functions with one parameter ``alpha``.

    A subclass defines the static methods ``spiking_function(x, alpha)`` (heaviside
    forward through an autograd function with the surrogate backward) and
    ``primitive_function(x, alpha)`` (the smooth function, differentiable by autograd);
    :meth:`forward` calls one of them according to ``spiking``. Defining
    :meth:`derivative` as well lets the neurons' fused kernels use the surrogate.

    Args:
        alpha: the surrogate's parameter (usually its sharpness); a plain attribute.
        spiking: ``True`` for a Heaviside forward with the surrogate backward,
            ``False`` for the smooth primitive in both passes.
    """

    def __init__(self, alpha: Any, spiking: bool = True) -> None:
        super().__init__()
        self.spiking = spiking
        self.alpha = alpha

    @staticmethod
    def spiking_function(x: torch.Tensor, alpha: Any) -> torch.Tensor:
        """Heaviside of ``x`` with the surrogate gradient; a subclass defines it."""
        raise NotImplementedError("a SurrogateFunctionBase subclass must define spiking_function(x, alpha)")

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: Any) -> torch.Tensor:
        """The smooth primitive ``g(x)``; a subclass defines it."""
        raise NotImplementedError("a SurrogateFunctionBase subclass must define primitive_function(x, alpha)")

    def surrogate_params(self) -> tuple[Any, ...]:
        return (self.alpha,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``spiking_function(x, alpha)`` when spiking, else ``primitive_function(x, alpha)``."""
        if self.spiking:
            return self.spiking_function(x, self.alpha)
        return self.primitive_function(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, spiking={self.spiking}"


class MultiArgsSurrogateFunctionBase(_SurrogateMixin, nn.Module):
    """Base class of surrogate functions with several parameters.

    The subclass stores its parameters as attributes, defines the static methods
    ``spiking_function(x, *params)`` and ``primitive_function(x, *params)`` and a
    ``forward`` that calls one of them according to ``spiking``.

    Args:
        spiking: ``True`` for a Heaviside forward with the surrogate backward,
            ``False`` for the smooth primitive in both passes.
        *args: ignored (the subclass stores its own parameters).
        **kwargs: ignored.
    """

    def __init__(self, spiking: bool, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.spiking = spiking

    #: The names of the parameter attributes, in ``spiking_function``'s order; when set,
    #: they give :meth:`surrogate_params` and :meth:`extra_repr`.
    param_names: tuple[str, ...] = ()

    def surrogate_params(self) -> tuple[Any, ...]:
        if not self.param_names:
            return super().surrogate_params()
        return tuple(getattr(self, name) for name in self.param_names)

    def extra_repr(self) -> str:
        if not self.param_names:
            return super().extra_repr()
        return ", ".join([*(f"{name}={getattr(self, name)}" for name in self.param_names), f"spiking={self.spiking}"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``spiking_function`` or ``primitive_function`` of ``x`` with the stored parameters."""
        params = self.surrogate_params()
        if self.spiking:
            return self.spiking_function(x, *params)  # type: ignore[attr-defined]
        return self.primitive_function(x, *params)  # type: ignore[attr-defined]


def fused_derivative(surrogate: Any) -> _SurrogateMixin | None:
    """The surrogate itself if the fused kernels may use its :meth:`derivative`, else ``None``.

    They may when it spikes and the class that defines ``derivative`` is the one (or a
    subclass of the one) that defines ``spiking_function`` and ``forward``: a subclass
    that overrides either without a matching ``derivative`` runs through autograd.
    """
    if not isinstance(surrogate, _SurrogateMixin) or not surrogate.spiking:
        return None
    cls = type(surrogate)
    owner = _owner(cls, "derivative")
    if owner is _SurrogateMixin:
        return None
    for name in ("spiking_function", "forward"):
        if not issubclass(owner, _owner(cls, name)):
            return None
    return surrogate


def apply_derivative_(surrogate: _SurrogateMixin, x: torch.Tensor) -> torch.Tensor:
    """Overwrite ``x`` with ``surrogate.derivative(x)``, in place when that is safe."""
    if issubclass(_owner(type(surrogate), "derivative_"), _owner(type(surrogate), "derivative")):
        return surrogate.derivative_(x)
    return x.copy_(surrogate.derivative(x))


def _owner(cls: type, name: str) -> type:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return object


# -- the surrogate functions ----------------------------------------------------------------


class PiecewiseQuadratic(SurrogateFunctionBase, spike=piecewise_quadratic, backward=True):
    """Gradient ``max(alpha - alpha**2 * |x|, 0)``; primitive 0 below ``-1/alpha``, 1 above
    ``1/alpha``, ``-alpha**2/2 * |x| * x + alpha * x + 1/2`` between.

    Args:
        alpha: half-width ``1/alpha`` of the region with a non-zero gradient.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 1.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        inner = -0.5 * alpha**2 * x.abs() * x + alpha * x + 0.5
        bound = 1.0 / alpha
        return torch.where(x > bound, torch.ones_like(x), torch.where(x < -bound, torch.zeros_like(x), inner))

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs_().mul_(-(self.alpha**2)).add_(self.alpha).clamp_(min=0.0)


class PiecewiseExp(SurrogateFunctionBase, spike=piecewise_exp, backward=True):
    """Gradient ``alpha/2 * exp(-alpha * |x|)``; primitive ``exp(alpha x)/2`` for ``x < 0``,
    ``1 - exp(-alpha x)/2`` for ``x >= 0``.

    Args:
        alpha: sharpness.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 1.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        half = torch.exp(-alpha * x.abs()) / 2
        return torch.where(x >= 0, 1.0 - half, half)


class Sigmoid(SurrogateFunctionBase, spike=sigmoid, backward=True):
    """Primitive ``sigmoid(alpha * x)``; gradient ``alpha * sg * (1 - sg)``.

    Args:
        alpha: sharpness of the sigmoid.
        spiking: Heaviside forward (``True``) or the sigmoid itself (``False``).
    """

    def __init__(self, alpha: float = 4.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        return torch.sigmoid(alpha * x)

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        sg = x.mul_(self.alpha).sigmoid_()
        return sg.addcmul_(sg, sg, value=-1.0).mul_(self.alpha)


class SoftSign(SurrogateFunctionBase, spike=soft_sign, backward=True):
    """Primitive ``(softsign(alpha x) + 1) / 2``; gradient ``alpha / (2 (1 + |alpha x|)**2)``.

    Args:
        alpha: sharpness, ``> 0``.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 2.0, spiking: bool = True) -> None:
        if not alpha > 0:
            raise ValueError(f"SoftSign: alpha must be greater than 0, got {alpha!r}")
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        return (F.softsign(alpha * x) + 1) / 2


class ATan(SurrogateFunctionBase, spike=atan, backward=True):
    """Primitive ``atan(pi/2 * alpha * x) / pi + 1/2``; gradient
    ``alpha / 2 / (1 + (pi/2 * alpha * x)**2)``.

    Args:
        alpha: sharpness of the arctangent.
        spiking: Heaviside forward (``True``) or the arctangent itself (``False``).
    """

    def __init__(self, alpha: float = 2.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        return torch.atan(math.pi / 2 * alpha * x) / math.pi + 0.5

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(math.pi / 2 * self.alpha)
        return x.mul_(x).add_(1.0).reciprocal_().mul_(self.alpha / 2)


class NonzeroSignLogAbs(SurrogateFunctionBase, spike=nonzero_sign_log_abs, backward=True):
    """Gradient ``1 / (1/alpha + |x|)``; primitive ``NonzeroSign(x) * log(alpha |x| + 1)``
    (``NonzeroSign(0) = 1``; the primitive's range is not ``(0, 1)``).

    Args:
        alpha: sharpness.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 1.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        sign = heaviside(x) * 2.0 - 1.0
        return sign * torch.log1p(alpha * x.abs())


class Erf(SurrogateFunctionBase, spike=erf, backward=True):
    """Gradient ``alpha / sqrt(pi) * exp(-alpha**2 x**2)``; primitive ``erfc(-alpha x) / 2``.

    Args:
        alpha: sharpness.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 2.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        return torch.special.erfc(-alpha * x) / 2


class PiecewiseLeakyReLU(MultiArgsSurrogateFunctionBase, spike=piecewise_leaky_relu, backward=True):
    """Gradient ``1/(2w)`` where ``|x| < w``, ``c`` elsewhere; primitive ``c x + c w`` below
    ``-w``, ``x/(2w) + 1/2`` between, ``c x - c w + 1`` above ``w``.

    Args:
        w: half-width of the central region, ``> 0``.
        c: slope outside it.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    param_names = ("w", "c")

    def __init__(self, w: float = 1.0, c: float = 0.01, spiking: bool = True) -> None:
        if not w > 0:
            raise ValueError(f"PiecewiseLeakyReLU: w must be greater than 0, got {w!r}")
        super().__init__(spiking)
        self.w = w
        self.c = c

    @staticmethod
    def primitive_function(x: torch.Tensor, w: float, c: float) -> torch.Tensor:
        middle = x / (2 * w) + 0.5
        return torch.where(x < -w, c * x + c * w, torch.where(x > w, c * x - c * w + 1.0, middle))


class SquarewaveFourierSeries(MultiArgsSurrogateFunctionBase, spike=squarewave_fourier_series):
    """The first ``n - 1`` odd terms of a square wave's Fourier series with period ``T_period``:
    primitive ``1/2 + 2/pi * sum_{i=1}^{n-1} sin((2i-1) omega x) / (2i-1)``, ``omega =
    2 pi / T_period``; gradient ``4 / T_period * sum_{i=1}^{n-1} cos((2i-1) omega x)``.

    Args:
        n: number of terms plus one (an int).
        T_period: period of the square wave, ``> 0``.
        spiking: Heaviside forward (``True``) or the series (``False``).
    """

    param_names = ("n", "T_period")

    def __init__(self, n: int = 2, T_period: float = 8, spiking: bool = True) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"SquarewaveFourierSeries: n must be an int, got {n!r}")
        if not T_period > 0:
            raise ValueError(f"SquarewaveFourierSeries: T_period must be greater than 0, got {T_period!r}")
        super().__init__(spiking)
        self.n = n
        self.T_period = T_period

    @staticmethod
    def primitive_function(x: torch.Tensor, n: int, T_period: float) -> torch.Tensor:
        omega = 2 * math.pi / T_period
        total = torch.zeros_like(x)
        for i in range(1, n):
            total = total + torch.sin((2 * i - 1) * omega * x) / (2 * i - 1)
        return 0.5 + 2 / math.pi * total


class S2NN(MultiArgsSurrogateFunctionBase, spike=s2nn):
    """Gradient ``alpha * sg * (1 - sg)`` (``sg = sigmoid(alpha x)``) for ``x < 0`` and
    ``beta / (x + 1)`` for ``x >= 0``; primitive ``sigmoid(alpha x)`` for ``x < 0`` and
    ``beta * log(|x + 1| + 1e-5) + 1/2`` for ``x >= 0``.

    Args:
        alpha: sharpness for ``x < 0``.
        beta: scale of the logarithmic tail for ``x >= 0``.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    param_names = ("alpha", "beta")

    def __init__(self, alpha: float = 4.0, beta: float = 1.0, spiking: bool = True) -> None:
        super().__init__(spiking)
        self.alpha = alpha
        self.beta = beta

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
        tail = beta * torch.log((x + 1.0).abs() + 1e-5) + 0.5
        return torch.where(x < 0, torch.sigmoid(alpha * x), tail)


class QPseudoSpike(SurrogateFunctionBase, spike=q_pseudo_spike):
    """Gradient ``(1 + 2|x| / (alpha - 1))**(-alpha)``; primitive
    ``(1 - 2x/(alpha-1))**(1-alpha) / 2`` for ``x < 0`` and
    ``1 - (1 + 2x/(alpha-1))**(1-alpha) / 2`` for ``x >= 0``.

    Args:
        alpha: tail fatness ``q``, ``> 1``.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 2.0, spiking: bool = True) -> None:
        if not alpha > 1:
            raise ValueError(f"QPseudoSpike: alpha must be greater than 1, got {alpha!r}")
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        half_tail = 0.5 * (1 + 2 / (alpha - 1) * x.abs()).pow(1 - alpha)
        return torch.where(x >= 0, 1.0 - half_tail, half_tail)


class LeakyKReLU(MultiArgsSurrogateFunctionBase, spike=leaky_k_relu, backward=True):
    """Gradient ``k`` for ``x >= 0`` and ``leak`` below; primitive ``k x`` / ``leak x``
    (a leaky ReLU, not a 0-to-1 step approximation).

    Args:
        spiking: Heaviside forward (``True``) or the primitive (``False``); first, as in
            the reference.
        leak: slope for ``x < 0``.
        k: slope for ``x >= 0``.
    """

    param_names = ("leak", "k")

    def __init__(self, spiking: bool = True, leak: float = 0.0, k: float = 1.0) -> None:
        super().__init__(spiking)
        self.leak = leak
        self.k = k

    @staticmethod
    def primitive_function(x: torch.Tensor, leak: float, k: float) -> torch.Tensor:
        return torch.where(x >= 0, k * x, leak * x)


class FakeNumericalGradient(SurrogateFunctionBase, spike=fake_numerical_gradient, backward=True):
    """Gradient ``min(1 / |x|, alpha)`` (``alpha`` at 0). It has no primitive: with
    ``set_spiking_mode(False)`` the forward raises ``NotImplementedError``.

    Args:
        alpha: upper bound of the gradient.
    """

    def __init__(self, alpha: float = 0.3) -> None:
        super().__init__(alpha, spiking=True)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        raise NotImplementedError("FakeNumericalGradient has no primitive function; use it with spiking=True")


class LogTailedReLU(SurrogateFunctionBase, spike=log_tailed_relu, backward=True):
    """Gradient ``alpha`` for ``x <= 0``, ``1`` for ``0 < x <= 1``, ``1/x`` above; primitive
    ``alpha x``, ``x`` and ``log(x) + 1`` on the same pieces (continuous at 1).

    Args:
        alpha: slope for ``x <= 0``.
        spiking: Heaviside forward (``True``) or the primitive (``False``).
    """

    def __init__(self, alpha: float = 0.0, spiking: bool = True) -> None:
        super().__init__(alpha, spiking)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float) -> torch.Tensor:
        tail = torch.log(x.clamp(min=1.0)) + 1.0
        return torch.where(x <= 0, alpha * x, torch.where(x <= 1, x, tail))


def check_manual_grad(
    primitive_function: Callable[..., torch.Tensor],
    spiking_function: Callable[..., torch.Tensor],
    *args: Any,
    **kwargs: Any,
) -> float:
    """Compare a hand-written surrogate backward with autograd of its primitive.

    Backpropagates ``primitive_function(x, *args, **kwargs).sum()`` and
    ``spiking_function(x, *args, **kwargs).sum()`` on ``x = arange(-2, 2, 1/256)``,
    prints both gradients' largest absolute difference and where it occurs, and
    returns that difference.
    """
    x = torch.arange(-2.0, 2.0, 1 / 256)
    x_primitive = x.clone().requires_grad_()
    primitive_function(x_primitive, *args, **kwargs).sum().backward()
    x_spiking = x.clone().requires_grad_()
    spiking_function(x_spiking, *args, **kwargs).sum().backward()
    difference = (x_primitive.grad - x_spiking.grad).abs()
    index = int(difference.argmax())
    print(f"max abs difference {float(difference[index]):.6g} at x = {float(x[index]):.6g}")
    return float(difference[index])


#: Every surrogate class of the module, in the reference's order.
SURROGATE_CLASSES: tuple[type[nn.Module], ...] = (
    PiecewiseQuadratic,
    PiecewiseExp,
    Sigmoid,
    SoftSign,
    ATan,
    NonzeroSignLogAbs,
    Erf,
    PiecewiseLeakyReLU,
    SquarewaveFourierSeries,
    S2NN,
    QPseudoSpike,
    LeakyKReLU,
    FakeNumericalGradient,
    LogTailedReLU,
)
