"""Export a spiking network with explicit state: ``torch.export`` and ONNX.

A single-step export (``step_mode='s'``) is a program
``(x [N, *], *memories) -> (y [N, *'], *new_memories)``: the state travels in and out,
in the order of :func:`spikelayers.functional.memories`, so a runtime can stream it one
step at a time. A multi-step export (``step_mode='m'``) maps a whole sequence
``[T, N, *] -> [T, N, *']`` from the initial state; with ``state=True`` it carries the
state too and a runtime can feed chunks.

Only memories that hold a tensor after a step are state: one that keeps its initial
``None`` or number (a dropout mask in eval mode, say) is unused and left out. Layers run
their ``'torch'`` backend in the export (a Triton kernel exports through its PyTorch
path). A layer that cannot be exported raises :class:`ExportError` naming it and the
reason. Shapes are static: the program takes inputs shaped like the example.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .base import MemoryModule
from .explicit_state import memory_modules, stateless_forward
from .functional import reset_net, set_step_mode

if TYPE_CHECKING:
    from torch.export import ExportedProgram

__all__ = ["ExportError", "ExportedSignature", "export", "initial_memories", "prepare_for_export", "to_onnx"]

INPUT_NAME = "input"
OUTPUT_NAME = "output"
NEXT_SUFFIX = ".next"
"""The name of a new memory among the outputs: the memory's name and this suffix."""


class ExportError(ValueError):
    """A network that cannot be exported; the message names the layer and the reason."""


@dataclass(frozen=True)
class ExportedSignature:
    """The flat inputs and outputs of an exported network.

    ``memory_names`` are the carried memories, in the order of
    :func:`spikelayers.functional.memories`; ``initial`` holds their initial values
    (the state after a reset, shaped for the example input).
    """

    step_mode: str
    memory_names: tuple[str, ...]
    initial: dict[str, torch.Tensor]

    @property
    def input_names(self) -> list[str]:
        return [INPUT_NAME, *self.memory_names]

    @property
    def output_names(self) -> list[str]:
        return [OUTPUT_NAME, *(name + NEXT_SUFFIX for name in self.memory_names)]


def prepare_for_export(net: nn.Module, step_mode: str) -> nn.Module:
    """A reset deep copy of ``net`` in ``step_mode`` with every layer on its ``'torch'`` backend.

    Raises :class:`ExportError` for ``step_mode`` other than ``'s'``/``'m'`` or a layer
    that does not support it.
    """
    if step_mode not in ("s", "m"):
        raise ExportError(f"export: step_mode must be 's' or 'm', got {step_mode!r}")
    prepared = copy.deepcopy(net)
    try:
        set_step_mode(prepared, step_mode)
    except ValueError as error:
        raise ExportError(f"export: {error}") from error
    for module in prepared.modules():
        if isinstance(module, MemoryModule) and module.backend != "torch" and "torch" in module.supported_backends:
            module.backend = "torch"
    reset_net(prepared)
    return prepared


@contextmanager
def _layer_on_error(net: nn.Module, what: str) -> Iterator[None]:
    """Turn an error raised inside ``net`` into an :class:`ExportError` naming the innermost
    layer that was running, with ``what`` was being done."""
    names = {module: name for name, module in net.named_modules()}
    running: list[nn.Module] = []

    def enter(module: nn.Module, args: Any) -> None:
        running.append(module)

    def leave(module: nn.Module, args: Any, output: Any) -> None:
        if running and running[-1] is module:
            running.pop()

    handles = [m.register_forward_pre_hook(enter) for m in names] + [m.register_forward_hook(leave) for m in names]
    try:
        yield
    except ExportError:
        raise
    except Exception as error:
        layer = running[-1] if running else net
        raise ExportError(
            f"{_layer_label(layer, names.get(layer, ''))} cannot be {what}: {type(error).__name__}: {error}"
        ) from error
    finally:
        for handle in handles:
            handle.remove()


def _layer_label(module: nn.Module, name: str) -> str:
    """``LIFNode 'features.2'``, or ``LIFNode (the network itself)`` for the root."""
    return f"{type(module).__name__} {name!r}" if name else f"{type(module).__name__} (the network itself)"


def _owner(net: nn.Module, full_name: str) -> tuple[str, MemoryModule, str]:
    for prefix, module in memory_modules(net):
        if full_name.startswith(prefix) and full_name[len(prefix) :] in module._memories:
            return prefix.rstrip("."), module, full_name[len(prefix) :]
    raise KeyError(full_name)


def _not_state(net: nn.Module, full_name: str, reason: str) -> ExportError:
    module_name, module, name = _owner(net, full_name)
    return ExportError(
        f"{_layer_label(module, module_name)} cannot be exported with explicit state: memory {name!r} {reason}"
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a is b or a == b


def initial_memories(net: nn.Module, example_input: torch.Tensor, step_mode: str = "s") -> dict[str, torch.Tensor]:
    """The state a streaming runtime starts from: every memory of ``net`` after a reset,
    as a tensor shaped for ``example_input`` (a step ``[N, *]`` in ``'s'``, a sequence
    ``[T, N, *]`` in ``'m'``), in the order of :func:`spikelayers.functional.memories`.

    Runs one forward on a copy to learn the shapes; ``net`` is not touched. A memory that
    keeps its initial ``None`` or number is unused and left out. Raises :class:`ExportError` for a memory that
    is not a tensor after a step (a step counter, say), or that starts as ``None`` and is
    not the same as zeros (a dropout mask drawn on the first step).
    """
    prepared = prepare_for_export(net, step_mode)
    fresh = {
        prefix + name: value for prefix, module in memory_modules(prepared) for name, value in module.named_memories()
    }
    example = example_input.detach()

    def step(start: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        torch.manual_seed(0)
        with torch.no_grad(), _layer_on_error(prepared, f"run in step mode {step_mode!r}"):
            return stateless_forward(prepared, example, start)

    output, after = step(fresh)
    initial: dict[str, torch.Tensor] = {}
    for full_name, value in after.items():
        start = fresh[full_name]
        if not isinstance(value, torch.Tensor):
            if _same(value, start):  # never used in this configuration
                continue
            raise _not_state(
                prepared,
                full_name,
                f"changes to {value!r} (of type {type(value).__name__}, not a tensor) in a step; only "
                "tensors can be inputs and outputs of an exported program (export the whole sequence with "
                "step_mode='m' instead)",
            )
        if isinstance(start, torch.Tensor):
            if start.shape != value.shape:
                raise _not_state(
                    prepared,
                    full_name,
                    f"starts with shape {tuple(start.shape)} but has {tuple(value.shape)} after a step",
                )
            initial[full_name] = start.to(value.dtype)
        elif start is None:
            zeros = torch.zeros_like(value)
            zero_output, zero_after = step({**fresh, full_name: zeros})
            if not (_same(zero_output, output) and _same(zero_after, after)):
                raise _not_state(
                    prepared,
                    full_name,
                    "starts as None and the layer treats None differently from zeros (it draws "
                    "or computes a first value); an exported program cannot express that (export in eval mode, "
                    "net.eval(), where dropout masks are not drawn)",
                )
            initial[full_name] = zeros
        else:
            initial[full_name] = torch.full_like(value, start)
    return initial


class _StatefulProgram(nn.Module):
    """``(x, *memories) -> (y, *new_memories)`` over the named memories of ``net``."""

    def __init__(self, net: nn.Module, memory_names: tuple[str, ...]) -> None:
        super().__init__()
        self.net = net
        self.memory_names = memory_names

    def forward(self, x: torch.Tensor, *state: torch.Tensor) -> tuple[Any, ...]:
        y, new = stateless_forward(self.net, x, dict(zip(self.memory_names, state)))
        return (y, *(new[name] for name in self.memory_names))


class _FromInitialState(nn.Module):
    """``x -> y`` from the reset state of ``net``, leaving its memories untouched."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> Any:
        y, _ = stateless_forward(self.net, x, {})
        return y


def _program(
    net: nn.Module, example_input: torch.Tensor, step_mode: str, state: bool | None
) -> tuple[nn.Module, tuple[torch.Tensor, ...], ExportedSignature]:
    carry = step_mode == "s" if state is None else state
    prepared = prepare_for_export(net, step_mode)
    example = example_input.detach()
    if carry:
        initial = initial_memories(net, example, step_mode)
        names = tuple(initial)
        program: nn.Module = _StatefulProgram(prepared, names)
        args = (example, *initial.values())
    else:
        initial, names = {}, ()
        program = _FromInitialState(prepared)
        args = (example,)
    return program, args, ExportedSignature(step_mode, names, initial)


def export(
    net: nn.Module, example_input: torch.Tensor, step_mode: str = "s", *, state: bool | None = None
) -> ExportedProgram:
    """Export ``net`` with ``torch.export`` (non-strict) and explicit state.

    Args:
        net: the network (not modified; a copy is exported).
        example_input: one step ``[N, *]`` (``'s'``) or a sequence ``[T, N, *]``
            (``'m'``); the program is specialised to its shape.
        step_mode: ``'s'``: ``(x, *memories) -> (y, *new_memories)``, the memories in
            the order of :func:`spikelayers.functional.memories` (see
            :func:`initial_memories` for their starting values). ``'m'``:
            ``x_seq -> y_seq`` from the initial state.
        state: whether the memories are inputs and outputs (default: in ``'s'`` only).

    Returns:
        a :class:`torch.export.ExportedProgram`; its ``spikelayers_signature``
        attribute is the :class:`ExportedSignature`.

    Raises:
        ExportError: naming the layer that cannot be exported and why.
    """
    program, args, signature = _program(net, example_input, step_mode, state)
    exported = _export_program(program, args)
    exported.spikelayers_signature = signature
    return exported


def _slow_conv2d_as_convolution(
    x: torch.Tensor,
    weight: torch.Tensor,
    kernel_size: list[int],
    bias: torch.Tensor | None,
    stride: list[int],
    padding: list[int],
) -> torch.Tensor:
    return torch.ops.aten.convolution.default(x, weight, bias, stride, padding, [1, 1], False, [0, 0], 1)


#: CPU-specific ops that fast paths call directly, written as the portable op they compute,
#: so that an exported program runs on any device and converts to ONNX.
PORTABLE_OPS = {torch.ops.aten._slow_conv2d_forward.default: _slow_conv2d_as_convolution}


def _export_program(program: nn.Module, args: tuple[torch.Tensor, ...]) -> ExportedProgram:
    """``torch.export`` in non-strict mode, then functionalised (fused paths write into
    ``out=`` buffers, which the exported graph must not keep), with :data:`PORTABLE_OPS`."""
    with _layer_on_error(program.net, "exported with torch.export"), torch.no_grad():
        return torch.export.export(program, args, strict=False).run_decompositions(dict(PORTABLE_OPS))


def _require_onnx() -> None:
    missing = []
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(
            f"spikelayers.export.to_onnx needs {' and '.join(missing)}: pip install 'spikelayers-core[onnx]'"
        )


def to_onnx(
    net: nn.Module,
    example_input: torch.Tensor,
    path: str | Path,
    step_mode: str = "s",
    *,
    state: bool | None = None,
) -> ExportedSignature:
    """Write ``net`` as an ONNX model to ``path`` through ``torch.onnx.export(dynamo=True)``.

    The inputs are named ``input`` followed by the carried memories' names (as
    :func:`spikelayers.functional.memories` gives them), the outputs ``output`` followed
    by each memory's name with the suffix ``.next``; the model's metadata
    ``spikelayers.initial_memories`` holds each memory's shape and initial fill value,
    so that a runtime can build the starting state. Arguments as in :func:`export`.

    Returns:
        the :class:`ExportedSignature` (names, initial memories).

    Raises:
        ExportError: naming the layer that cannot be exported and why.
        ImportError: without the ``onnx`` extra (``pip install 'spikelayers-core[onnx]'``).
    """
    _require_onnx()
    import onnx

    program, args, signature = _program(net, example_input, step_mode, state)
    exported = _export_program(program, args)
    outputs = len(exported.graph_signature.user_outputs) - len(signature.memory_names)
    if outputs != 1:
        raise ExportError(
            f"to_onnx: {type(net).__name__} returns {outputs} tensors per call; an ONNX model with explicit "
            "state needs a network with one tensor output"
        )
    with _layer_on_error(program.net, "converted to ONNX"):
        onnx_program = torch.onnx.export(
            exported,
            args,
            dynamo=True,
            input_names=signature.input_names,
            output_names=signature.output_names,
            verbose=False,
        )
    model = onnx_program.model_proto
    onnx.helper.set_model_props(model, {"spikelayers.initial_memories": json.dumps(_initial_description(signature))})
    onnx.save(model, str(path))
    return signature


def _initial_description(signature: ExportedSignature) -> dict[str, dict[str, Any]]:
    described = {}
    for name, value in signature.initial.items():
        flat = value.flatten()
        uniform = flat.numel() == 0 or bool((flat == flat[0]).all())
        described[name] = {
            "shape": list(value.shape),
            "dtype": str(value.dtype).removeprefix("torch."),
            "fill": float(flat[0]) if uniform and flat.numel() else (0.0 if uniform else None),
        }
    return described
