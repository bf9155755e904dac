"""The extension surface of the neurons: ``SimpleBaseNode``, ``BaseNode``, ``AdaptBaseNode``.

One step of a neuron is three hooks, called in this order on the membrane potential
memory ``v`` (``[N, *]``, like the input step):

* :meth:`BaseNode.neuronal_charge` ``(x)``: assign the charged potential ``H[t]`` to ``self.v``;
* :meth:`BaseNode.neuronal_fire` ``()``: return the spike ``surrogate(H[t] - v_threshold)``;
* :meth:`BaseNode.neuronal_reset` ``(spike)``: hard reset to ``v_reset`` where it spiked, or
  subtract ``v_threshold`` (``v_reset=None``).

A subclass that overrides only ``neuronal_charge`` gets both step modes: single-step mode
runs the hooks once, multi-step mode runs them for every step of ``[T, N, *]`` (keeping
``v_seq`` when ``store_v_seq``). The built-in neurons also have a fused multi-step path;
:meth:`BaseNode._multi_step_kernel` picks it, and a subclass that overrides any dynamics
hook never inherits its parent's fused path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.errors import StateShapeError
from spikelayers.kernels import get_kernel, prepare
from spikelayers.shapes import check_min_dim

from .surrogate import Sigmoid

#: The default ``surrogate_function`` shown in the signatures; each neuron built with it
#: gets its own fresh :class:`~spikelayers_neuron.surrogate.Sigmoid` instead of sharing it.
DEFAULT_SURROGATE = Sigmoid()

#: The methods that define a neuron's dynamics. Overriding any of them in a subclass
#: switches that subclass to the generic path of hooks.
DYNAMICS_HOOKS: tuple[str, ...] = (
    "neuronal_charge",
    "neuronal_fire",
    "neuronal_reset",
    "single_step_forward",
    "multi_step_forward",
    "v_float_to_tensor",
    "jit_hard_reset",
    "jit_soft_reset",
)


def fresh_surrogate(surrogate_function: Callable[..., Any]) -> Callable[..., Any]:
    """A private :class:`Sigmoid` for the shared default, else ``surrogate_function`` itself."""
    return Sigmoid() if surrogate_function is DEFAULT_SURROGATE else surrogate_function


def float_input(module: nn.Module, x: Any, layout: str, min_dim: int) -> torch.Tensor:
    """``x`` as a floating tensor: integer and bool spikes become the dtype of the potential
    (the default float dtype before the first step). Raises ``TypeError``/``ValueError``
    naming ``module`` for anything else."""
    check_min_dim(module, x, min_dim, layout)
    if x.is_floating_point():
        return x
    if x.is_complex():
        raise TypeError(f"{type(module).__name__} expects a real tensor {layout}, got dtype {x.dtype}")
    v = getattr(module, "v", None)
    dtype = v.dtype if isinstance(v, torch.Tensor) and v.is_floating_point() else torch.get_default_dtype()
    return x.to(dtype)


def _owner(cls: type, name: str) -> type:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return object


class SimpleBaseNode(MemoryModule):
    """The easily modified teaching neuron: charge (abstract), fire, reset.

    ``v`` starts at 0 whatever ``v_reset`` is, and stays a Python float until
    :meth:`neuronal_charge` makes it a tensor (``v + x`` does). Multi-step mode
    ``[T, N, *]`` loops over single steps.

    Args:
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` to subtract ``v_threshold``.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
    """

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.surrogate_function = fresh_surrogate(surrogate_function)
        self.detach_reset = detach_reset
        self.register_memory("v", 0.0)
        self.step_mode = step_mode

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """Assign the charged potential ``H[t]`` (from ``self.v`` and ``x``) to ``self.v``."""
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x)")

    def neuronal_fire(self) -> torch.Tensor:
        """The spike ``surrogate_function(v - v_threshold)`` ``[N, *]``."""
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        """Hard (``v_reset``) or soft (subtract ``v_threshold``) reset where ``spike`` is 1."""
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - self.v_threshold * spike_d
        else:
            self.v = spike_d * self.v_reset + (1.0 - spike_d) * self.v

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *] -> [N, *]``: charge, fire, reset; returns the spike."""
        x = float_input(self, x, "[N, *]", 0)
        with _restored_on_error(self):
            self.neuronal_charge(x)
            spike = self.neuronal_fire()
            self.neuronal_reset(spike)
            return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, *] -> [T, N, *]``: a loop of :meth:`single_step_forward`."""
        x_seq = float_input(self, x_seq, "[T, N, *]", 2)
        if x_seq.shape[0] == 0:
            return torch.empty_like(x_seq)
        with _restored_on_error(self):
            return torch.stack([self.single_step_forward(x) for x in x_seq])

    def extra_repr(self) -> str:
        return (
            f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
            f"step_mode={self.step_mode}"
        )


class BaseNode(MemoryModule):
    """The base class of differentiable spiking neurons.

    ``v`` starts at ``v_reset`` (``0.`` for a soft reset) and becomes a tensor shaped like
    the input at the first step after a reset (:meth:`v_float_to_tensor`). A subclass
    defines :meth:`neuronal_charge`; :meth:`neuronal_fire` and :meth:`neuronal_reset` may
    be overridden too. Single-step mode takes ``[N, *]``, multi-step mode ``[T, N, *]``.

    Args:
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike (hard reset), or ``None`` to subtract
            ``v_threshold`` instead (soft reset).
        surrogate_function: the spike's surrogate-gradient function (default: a fresh
            :class:`~spikelayers_neuron.surrogate.Sigmoid` per neuron).
        detach_reset: whether the reset ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'torch'``; neurons with a Triton kernel also take ``'triton'`` and
            ``'auto'`` (the kernel registry picks, in both step modes).
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    #: The kernel-registry op of this class's fused multi-step path (``None``: no fused path).
    kernel_op: ClassVar[str | None] = None
    #: Whether this class may run :attr:`kernel_op`; computed for every subclass.
    has_fused_path: ClassVar[bool] = False
    dynamics_hooks: ClassVar[tuple[str, ...]] = DYNAMICS_HOOKS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The fused path implements the maths of the class that declared kernel_op; a
        # subclass overriding any dynamics hook below that class runs the hooks instead.
        owner = _owner(cls, "kernel_op")
        cls.has_fused_path = cls.kernel_op is not None and all(
            issubclass(owner, _owner(cls, hook)) for hook in cls.dynamics_hooks
        )

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__()
        _check_number(self, "v_threshold", v_threshold)
        if v_reset is not None:
            _check_number(self, "v_reset", v_reset)
        if not isinstance(detach_reset, bool):
            raise TypeError(f"{type(self).__name__}: detach_reset must be a bool, got {detach_reset!r}")
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.surrogate_function = fresh_surrogate(surrogate_function)
        self.detach_reset = detach_reset
        self.register_memory("v", 0.0 if v_reset is None else self.v_reset)
        self._store_v_seq = False
        self.store_v_seq = store_v_seq
        self.step_mode = step_mode
        self.backend = backend
        if type(self).kernel_op is not None:
            prepare(type(self).kernel_op, self.backend)  # import the kernels now, not in a compiled forward

    # -- store_v_seq ------------------------------------------------------------------

    @property
    def store_v_seq(self) -> bool:
        """Whether multi-step mode keeps every step's potential in ``v_seq`` ``[T, N, *]``."""
        return self._store_v_seq

    @store_v_seq.setter
    def store_v_seq(self, value: bool) -> None:
        self._store_v_seq = bool(value)
        if value and "v_seq" not in self._memories and not hasattr(self, "v_seq"):
            self.register_memory("v_seq", None)

    # -- the hooks --------------------------------------------------------------------

    @staticmethod
    def jit_hard_reset(v: torch.Tensor, spike: torch.Tensor, v_reset: float) -> torch.Tensor:
        """``(1 - spike) * v + spike * v_reset``."""
        return (1.0 - spike) * v + spike * v_reset

    @staticmethod
    def jit_soft_reset(v: torch.Tensor, spike: torch.Tensor, v_threshold: float) -> torch.Tensor:
        """``v - spike * v_threshold``."""
        return v - spike * v_threshold

    def neuronal_charge(self, x: torch.Tensor) -> None:
        """Assign the charged potential ``H[t]`` to ``self.v`` (a new tensor, ``[N, *]``).

        Called with ``self.v`` already a tensor shaped like ``x``; a subclass must define it.
        """
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x)")

    def neuronal_fire(self) -> torch.Tensor:
        """The spike ``surrogate_function(v - v_threshold)`` ``[N, *]`` (1 where ``v >= v_threshold``)."""
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        """Reset ``self.v`` where ``spike`` is 1 (the spike is detached when ``detach_reset``)."""
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.jit_soft_reset(self.v, spike_d, self.v_threshold)
        else:
            self.v = self.jit_hard_reset(self.v, spike_d, self.v_reset)

    def v_float_to_tensor(self, x: torch.Tensor) -> None:
        """Make ``self.v`` a tensor shaped like ``x`` (``x``'s dtype and device, no grad) if it
        is still a number; a tensor ``v`` of another shape raises :class:`StateShapeError`."""
        self._memory_to_tensor("v", x)

    def _memory_to_tensor(self, name: str, x: torch.Tensor) -> None:
        value = getattr(self, name)
        if isinstance(value, torch.Tensor):
            if value.shape != x.shape:
                raise StateShapeError(
                    f"{type(self).__name__}: memory {name!r} has shape {tuple(value.shape)} but this input "
                    f"needs {tuple(x.shape)}; the input shape changed (e.g. a new batch size) without a "
                    "reset. Call spikelayers.functional.reset_net(net) between sequences."
                )
            return
        setattr(self, name, torch.full_like(x.detach(), value))

    # -- forward ----------------------------------------------------------------------

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *] -> [N, *]``: charge, fire and reset; returns the spike."""
        x = float_input(self, x, "[N, *]", 0)
        kernel = self._multi_step_kernel(x.device)
        if kernel is not None:
            return self._fused_forward(kernel, x.unsqueeze(0), False)[0]
        with _restored_on_error(self):
            self.v_float_to_tensor(x)
            self.neuronal_charge(x)
            spike = self.neuronal_fire()
            self.neuronal_reset(spike)
            return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence ``[T, N, *] -> [T, N, *]`` (spikes); ``v`` ends at the last step's
        potential and, with ``store_v_seq``, ``v_seq`` holds every step's ``[T, N, *]``."""
        x_seq = float_input(self, x_seq, "[T, N, *]", 2)
        kernel = self._multi_step_kernel(x_seq.device)
        if kernel is not None:
            return self._fused_forward(kernel, x_seq, self.store_v_seq)
        return self._hooks_multi_step(x_seq)

    def _hooks_multi_step(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The generic multi-step path: :meth:`single_step_forward` for every step."""
        if x_seq.shape[0] == 0:
            if self.store_v_seq:
                self.v_seq = torch.empty_like(x_seq)
            return torch.empty_like(x_seq)
        spikes, potentials = [], []
        with _restored_on_error(self):
            for x in x_seq:
                spikes.append(self.single_step_forward(x))
                if self.store_v_seq:
                    potentials.append(self.v)
            if self.store_v_seq:
                self.v_seq = torch.stack(potentials)
            return torch.stack(spikes)

    # -- the fused path ---------------------------------------------------------------

    def _multi_step_kernel(self, device: torch.device, backend: str | None = None) -> Callable[..., Any] | None:
        """The fused kernel that runs this neuron on ``device``, or ``None`` to run the hooks.

        Every kernel and backend choice of the neurons is made here, for both step modes:
        ``None`` when the class has no fused path (or a subclass overrode a dynamics hook)
        or the path does not support this instance's settings; else the kernel registry's
        choice for ``backend`` (default ``self.backend``) and :meth:`kernel_settings`
        (one dictionary read after the first call; a forced backend that cannot run
        raises before any state changes).
        """
        if not type(self).has_fused_path or not self.fused_path_supports_settings():
            return None
        assert self.kernel_op is not None
        backend = self.backend if backend is None else backend
        return get_kernel(self.kernel_op, backend, device, **self.kernel_settings())

    def kernel_settings(self) -> dict[str, object]:
        """What the kernels' ``supports`` look at: the surrogate's type and whether it spikes."""
        surrogate = self.surrogate_function
        return {"surrogate": type(surrogate), "spiking": bool(getattr(surrogate, "spiking", True))}

    def fused_path_supports_settings(self) -> bool:
        """Whether the fused path computes this instance's settings (see ``_multi_step_kernel``)."""
        return True

    def _fused_forward(self, kernel: Callable[..., Any], x_seq: torch.Tensor, store_v_seq: bool) -> torch.Tensor:
        """Run ``kernel`` over ``x_seq`` ``[T, N, *]`` and update the memories; the spikes."""
        raise NotImplementedError(f"{type(self).__name__} declares kernel_op but no _fused_forward")

    def _potential(self, x_seq: torch.Tensor, name: str = "v") -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_seq, memory)`` in their promoted dtype (as ``x + v`` would compute); the memory
        ``[N, *]`` is created from its initial number at the first step after a reset."""
        value = self.memory_like(name, x_seq, shape=x_seq.shape[1:])
        dtype = torch.promote_types(x_seq.dtype, value.dtype)
        return x_seq.to(dtype), value.to(dtype)

    def _keep_potential(self, v: torch.Tensor, v0: torch.Tensor, store_v_seq: bool) -> None:
        """Keep a fused kernel's potential: with ``store_v_seq`` it is ``[T, N, *]`` (stored in
        ``v_seq``, its last step, or ``v0`` when ``T == 0``, in ``v``), else the final ``[N, *]``."""
        if store_v_seq:
            self.v_seq = v
            self.v = v[-1] if v.shape[0] else v0
        else:
            self.v = v

    def extra_repr(self) -> str:
        return (
            f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
            f"step_mode={self.step_mode}, backend={self.backend}"
        )


class AdaptBaseNode(BaseNode):
    """A neuron with an adaptation current ``w`` (memory, initially ``w_rest``).

    One step: :meth:`neuronal_charge` (abstract; may use ``self.w``), then
    :meth:`neuronal_adaptation` ``w <- w + (a (H - v_rest) - w) / tau_w`` with the charged
    ``H``, then fire, then reset of ``v`` and the jump ``w <- w + b * spike``.

    Args:
        v_threshold: the potential at which the neuron fires.
        v_reset: the potential after a spike, or ``None`` for a soft reset.
        v_rest: resting potential of the adaptation.
        w_rest: initial (and reset) value of ``w``.
        tau_w: time constant of the adaptation current.
        a: subthreshold coupling of ``w`` to ``v - v_rest``.
        b: jump of ``w`` at each spike.
        surrogate_function: the spike's surrogate-gradient function.
        detach_reset: whether the reset of ``v`` ignores the spike's gradient.
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
        backend: ``'torch'``.
        store_v_seq: in ``'m'``, keep every step's potential in ``v_seq`` ``[T, N, *]``.
    """

    dynamics_hooks = (
        *DYNAMICS_HOOKS,
        "neuronal_adaptation",
        "w_float_to_tensor",
        "jit_neuronal_adaptation",
    )

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        v_rest: float = 0.0,
        w_rest: float = 0.0,
        tau_w: float = 2.0,
        a: float = 0.0,
        b: float = 0.0,
        surrogate_function: Callable[..., Any] = DEFAULT_SURROGATE,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "torch",
        store_v_seq: bool = False,
    ) -> None:
        for name, value in (("v_rest", v_rest), ("w_rest", w_rest), ("tau_w", tau_w), ("a", a), ("b", b)):
            _check_number(self, name, value)
        if tau_w == 0:
            raise ValueError(f"{type(self).__name__}: tau_w must not be 0")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.v_rest = float(v_rest)
        self.w_rest = float(w_rest)
        self.tau_w = float(tau_w)
        self.a = float(a)
        self.b = float(b)
        self.register_memory("w", self.w_rest)

    @staticmethod
    def jit_neuronal_adaptation(
        w: torch.Tensor, tau_w: float, a: float, v_rest: float, v: torch.Tensor
    ) -> torch.Tensor:
        """``w + (a (v - v_rest) - w) / tau_w``."""
        return w + 1.0 / tau_w * (a * (v - v_rest) - w)

    @staticmethod
    def jit_hard_reset(  # type: ignore[override]
        v: torch.Tensor, w: torch.Tensor, spike_d: torch.Tensor, v_reset: float, b: float, spike: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``((1 - spike_d) v + spike v_reset, w + b spike)``."""
        return (1.0 - spike_d) * v + spike * v_reset, w + b * spike

    @staticmethod
    def jit_soft_reset(  # type: ignore[override]
        v: torch.Tensor, w: torch.Tensor, spike_d: torch.Tensor, v_threshold: float, b: float, spike: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(v - spike_d v_threshold, w + b spike)``."""
        return v - spike_d * v_threshold, w + b * spike

    def neuronal_adaptation(self) -> None:
        """Update ``w`` from the charged potential: ``w + (a (v - v_rest) - w) / tau_w``."""
        self.w = self.jit_neuronal_adaptation(self.w, self.tau_w, self.a, self.v_rest, self.v)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        """Reset ``v`` (hard or soft) and add ``b * spike`` to ``w``; ``detach_reset``
        detaches only the spike that scales ``v``."""
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v, self.w = self.jit_soft_reset(self.v, self.w, spike_d, self.v_threshold, self.b, spike)
        else:
            self.v, self.w = self.jit_hard_reset(self.v, self.w, spike_d, self.v_reset, self.b, spike)

    def w_float_to_tensor(self, x: torch.Tensor) -> None:
        """Make ``self.w`` a tensor shaped like ``x`` if it is still a number."""
        self._memory_to_tensor("w", x)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step ``[N, *] -> [N, *]``: charge, adaptation, fire, reset; returns the spike."""
        x = float_input(self, x, "[N, *]", 0)
        kernel = self._multi_step_kernel(x.device)
        if kernel is not None:
            return self._fused_forward(kernel, x.unsqueeze(0), False)[0]
        with _restored_on_error(self):
            self.v_float_to_tensor(x)
            self.w_float_to_tensor(x)
            self.neuronal_charge(x)
            self.neuronal_adaptation()
            spike = self.neuronal_fire()
            self.neuronal_reset(spike)
            return spike

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, v_rest={self.v_rest}, w_rest={self.w_rest}, tau_w={self.tau_w}, "
            f"a={self.a}, b={self.b}"
        )


def _check_number(module: nn.Module, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{type(module).__name__}: {name} must be a real number, got {value!r}")


class _restored_on_error:
    """Context manager: if the block raises, every memory of ``module`` is put back."""

    def __init__(self, module: MemoryModule) -> None:
        self.module = module

    def __enter__(self) -> None:
        self.saved = dict(self.module._memories)

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is not None:
            self.module._memories.clear()
            self.module._memories.update(self.saved)
