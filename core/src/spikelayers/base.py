"""The step-mode protocol: step modules, memory modules and their memories.

A *step module* runs either one time step at a time (``step_mode='s'``, input
``[N, *]``) or a whole sequence at once (``step_mode='m'``, input ``[T, N, *]``).
A *memory module* additionally keeps runtime state (its *memories*) across calls:
membrane potentials, synaptic currents, dropout masks. Memories are not parameters
or buffers, so they never enter ``state_dict``; ``reset()`` returns each of them to
the value it was registered with.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .empty import empty_sequence_output
from .errors import StateShapeError

STEP_MODES: tuple[str, ...] = ("s", "m")


class StepModule:
    """Mixin for modules that run in single-step (``'s'``) or multi-step (``'m'``) mode.

    Subclasses list the modes they accept in ``step_modes``. Containers that drive
    their children themselves set ``keeps_child_step_mode = True`` so that
    :func:`spikelayers.functional.set_step_mode` leaves their children alone.
    """

    step_modes: tuple[str, ...] = STEP_MODES
    keeps_child_step_mode: bool = False

    def supported_step_mode(self) -> tuple[str, ...]:
        """The step modes this module accepts."""
        return tuple(self.step_modes)

    @property
    def step_mode(self) -> str:
        return self.__dict__.get("_step_mode", self.supported_step_mode()[0])

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        supported = self.supported_step_mode()
        if value not in supported:
            raise ValueError(f"{type(self).__name__}: step_mode must be one of {supported}, got {value!r}")
        self.__dict__["_step_mode"] = value

    def extra_repr(self) -> str:
        inherited = super().extra_repr() if hasattr(super(), "extra_repr") else ""
        mode = f"step_mode={self.step_mode}"
        return f"{inherited}, {mode}" if inherited else mode


class SingleStepModule(StepModule):
    """A module that only runs single steps (input ``[N, *]``)."""

    step_modes = ("s",)


class MultiStepModule(StepModule):
    """A module that only runs whole sequences (input ``[T, N, *]``)."""

    step_modes = ("m",)


class MemoryModule(StepModule, nn.Module):
    """Base class of stateful layers.

    Register each piece of runtime state with :meth:`register_memory`; read and write
    it as an attribute (``self.v``). Implement :meth:`single_step_forward` for one step
    ``[N, *] -> [N, *']``; the default :meth:`multi_step_forward` loops over ``T`` and
    layers override it with a fused path where the maths allows.
    """

    supported_backends: tuple[str, ...] = ("torch",)

    def __init__(self) -> None:
        super().__init__()
        self.__dict__["_memories"] = {}
        self.__dict__["_memory_initials"] = {}
        self.__dict__["_backend"] = self.supported_backends[0]

    # -- memories -------------------------------------------------------------------

    def register_memory(self, name: str, initial: Any) -> None:
        """Register the memory ``name`` with its initial value.

        ``initial`` is ``None``, a Python number, or a tensor (copied). ``reset()``
        restores it. Raises ``ValueError`` if ``name`` is already an attribute.
        """
        if name in self._memories:
            raise ValueError(f"{type(self).__name__}: memory {name!r} is already registered")
        if hasattr(self, name):
            raise ValueError(
                f"{type(self).__name__}: cannot register memory {name!r}, an attribute of that name exists"
            )
        if isinstance(initial, torch.Tensor):
            initial = initial.detach().clone()
        self._memory_initials[name] = initial
        self._memories[name] = _fresh(initial)

    def reset(self) -> None:
        """Return every memory to its initial value (dropping any autograd graph)."""
        for name, initial in self._memory_initials.items():
            self._memories[name] = _fresh(initial)

    def detach(self) -> None:
        """Cut every tensor memory from the autograd graph, keeping its value."""
        for name, value in self._memories.items():
            if isinstance(value, torch.Tensor):
                self._memories[name] = value.detach()

    def named_memories(self) -> Iterator[tuple[str, Any]]:
        """Iterate over ``(name, value)`` of this module's own memories."""
        yield from self._memories.items()

    def memories(self) -> Iterator[Any]:
        """Iterate over the values of this module's own memories."""
        yield from self._memories.values()

    def memory_initial(self, name: str) -> Any:
        """The value ``name`` returns to on ``reset()``."""
        return self._memory_initials[name]

    def memory_like(
        self, name: str, x: torch.Tensor, shape: torch.Size | None = None, store: bool = True
    ) -> torch.Tensor:
        """Return memory ``name`` as a tensor shaped for the input step ``x``.

        A memory still at a scalar initial value is expanded to ``shape`` (default
        ``x.shape``) with ``x``'s dtype and device, and stored unless ``store`` is false
        (so that a call which may still fail changes no state). A tensor memory must
        already have that shape; otherwise :class:`StateShapeError` tells the user to
        reset the network.
        """
        value = self._memories[name]
        target = x.shape if shape is None else torch.Size(shape)
        if isinstance(value, torch.Tensor):
            if value.shape != target:
                raise StateShapeError(
                    f"{type(self).__name__}: memory {name!r} has shape {tuple(value.shape)} "
                    f"but this input needs {tuple(target)}; the input shape changed "
                    "(e.g. a new batch size) without a reset. Call "
                    "spikelayers.functional.reset_net(net) between sequences."
                )
            return value
        fill = 0.0 if value is None else value
        tensor = torch.full(target, fill, dtype=x.dtype, device=x.device)
        if store:
            self._memories[name] = tensor
        return tensor

    def _apply(self, fn: Any, recurse: bool = True) -> MemoryModule:
        # ``to()``, ``double()``, ``half()``, ``cuda()``... convert tensor memories (and
        # the tensors they reset to) as they convert parameters and buffers.
        super()._apply(fn, recurse)
        for store in (self._memories, self._memory_initials):
            for name, value in store.items():
                store[name] = _convert_tensors(value, fn)
        return self

    def __getattr__(self, name: str) -> Any:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            return memories[name]
        return super().__getattr__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            memories[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            del memories[name]
            del self._memory_initials[name]
        else:
            super().__delattr__(name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__.get("_memories", {})))

    # -- backends -------------------------------------------------------------------

    @property
    def backend(self) -> str:
        return self.__dict__["_backend"]

    @backend.setter
    def backend(self, value: str) -> None:
        if value != "auto" and value not in self.supported_backends:
            raise ValueError(
                f"{type(self).__name__}: backend must be 'auto' or one of {self.supported_backends}, got {value!r}"
            )
        self.__dict__["_backend"] = value

    # -- forward --------------------------------------------------------------------

    def single_step_forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        """One time step: ``[N, *] -> [N, *']``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement single_step_forward")

    def multi_step_forward(self, x_seq: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        """A whole sequence ``[T, N, *] -> [T, N, *']``; by default a loop of single steps.

        An empty sequence (``T = 0``) gives ``[0, N, *']`` and changes no state.
        """
        if x_seq.shape[0] == 0:
            return empty_sequence_output(x_seq, [self], _single_step, *args, **kwargs)
        outputs = [self.single_step_forward(x, *args, **kwargs) for x in x_seq]
        if isinstance(outputs[0], (list, tuple)):
            return type(outputs[0])(torch.stack(parts) for parts in zip(*outputs))
        return torch.stack(outputs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.step_mode == "s":
            return self.single_step_forward(*args, **kwargs)
        return self.multi_step_forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode}, backend={self.backend}"

    def __getstate__(self) -> dict[str, Any]:
        # Pickle and deepcopy keep the memories' values but not their autograd graphs.
        state = self.__dict__.copy()
        state["_memories"] = {
            name: value.detach() if isinstance(value, torch.Tensor) else value for name, value in self._memories.items()
        }
        return state


def _single_step(module: MemoryModule, x: Any, *args: Any, **kwargs: Any) -> Any:
    return module.single_step_forward(x, *args, **kwargs)


def _convert_tensors(value: Any, fn: Any) -> Any:
    """``fn`` applied to ``value`` if it is a tensor, or to each tensor of a list/tuple."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_convert_tensors(item, fn) for item in value)
    return value


def _fresh(initial: Any) -> Any:
    if isinstance(initial, torch.Tensor):
        return initial.clone()
    return copy.copy(initial)
