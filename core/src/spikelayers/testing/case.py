"""A layer under test: how to build it and what to feed it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..base import MemoryModule, StepModule
from ..functional import set_step_mode

InputFn = Callable[[tuple[int, ...], torch.Generator, torch.dtype], torch.Tensor]


def gaussian_input(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Standard-normal input (the default)."""
    return torch.randn(shape, generator=generator, dtype=dtype)


def spike_input(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Binary spikes with firing probability 0.3."""
    return (torch.rand(shape, generator=generator) < 0.3).to(dtype)


@dataclass
class LayerCase:
    """Everything the conformance kit needs to know about one layer configuration.

    Args:
        factory: builds the layer; the kit sets the step mode itself.
        input_shape: one step's input shape ``[N, *]``; a sequence is ``[T, N, *]``.
        T: number of time steps fed in multi-step checks (at least 2).
        name: shown in test ids; defaults to the class name.
        step_modes: modes to check; defaults to every mode the layer supports.
        input_fn: ``(shape, generator, dtype) -> tensor``; standard normal by default.
        dtype: floating dtype of inputs and parameters.
        chunkable: whether a sequence fed as two shorter sequences must give the same
            result as one call (false for layers whose ``T`` is fixed, like TEBN).
        train: run the checks in training mode (else eval).
        rank_checks: step modes in which an input with the wrong rank must raise.
        input_requires_grad: whether the input gets a gradient.
        picklable: whether the layer pickles (false when it holds a lambda).
        compile: also check ``torch.compile`` against eager in multi-step mode.
        compile_backend: the ``torch.compile`` backend used by that check.
        fullgraph: also check ``torch.compile(fullgraph=True)`` with ``compile_backend``
            in every step mode: zero graph breaks, eager outputs and gradients.
        rtol, atol: tolerances of every comparison.
    """

    factory: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    T: int = 4
    name: str | None = None
    step_modes: tuple[str, ...] | None = None
    input_fn: InputFn = gaussian_input
    dtype: torch.dtype = torch.float32
    chunkable: bool = True
    train: bool = True
    rank_checks: tuple[str, ...] = ("s", "m")
    input_requires_grad: bool = True
    picklable: bool = True
    compile: bool = False
    compile_backend: str = "aot_eager"
    fullgraph: bool = False
    rtol: float = 1e-5
    atol: float = 1e-5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.T < 2:
            raise ValueError(f"LayerCase: T must be at least 2, got {self.T}")
        self.input_shape = tuple(self.input_shape)

    @property
    def id(self) -> str:
        if self.name:
            return self.name
        return type(self.build()).__name__

    def build(self, seed: int | None = None) -> nn.Module:
        """A fresh layer (parameters drawn from ``seed``), in the case's train/eval mode."""
        torch.manual_seed(self.seed if seed is None else seed)
        layer = self.factory().to(self.dtype)
        layer.train(self.train)
        return layer

    def build_in_mode(self, step_mode: str, seed: int | None = None) -> nn.Module:
        layer = self.build(seed)
        set_step_mode(layer, step_mode)
        return layer

    def modes(self) -> tuple[str, ...]:
        if self.step_modes is not None:
            return self.step_modes
        layer = self.build()
        if isinstance(layer, StepModule):
            return layer.supported_step_mode()
        return ("s",)

    def is_stateful(self) -> bool:
        return any(isinstance(m, MemoryModule) for m in self.build().modules())

    def sequence(self, T: int | None = None, seed: int = 1) -> torch.Tensor:
        """An input sequence ``[T, N, *]``."""
        generator = torch.Generator().manual_seed(seed)
        x = self.input_fn((T or self.T, *self.input_shape), generator, self.dtype)
        if self.input_requires_grad and x.is_floating_point():
            x.requires_grad_(True)
        return x


def copy_layer(layer: nn.Module) -> nn.Module:
    return copy.deepcopy(layer)


def clone_input(x: torch.Tensor) -> torch.Tensor:
    y = x.detach().clone()
    if x.requires_grad:
        y.requires_grad_(True)
    return y


def output_tensors(output: Any) -> list[torch.Tensor]:
    """The tensors of a layer output: a tensor, or a list/tuple of tensors."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in output_tensors(item)]
    raise TypeError(f"layer output must be a tensor or a list/tuple of tensors, got {type(output).__name__}")
