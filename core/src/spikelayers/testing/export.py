"""Conformance of exported layers: the exported program equals eager over a sequence
run in chunks.

:func:`check_export` exports a case's layer with :func:`spikelayers.export.export` (in
eval mode, as deployed) and compares it with the eager layer, which is fed the same
sequence ``[T, N, *]`` in two multi-step chunks (one whole call for a layer whose ``T``
is fixed; one step at a time for a single-step-only layer):

- ``'s'``: the exported single-step program, fed one step at a time with the state
  carried from each call to the next, gives the eager outputs and final memories;
- ``'m'``: the exported multi-step program maps the whole sequence to the eager outputs.

A layer that cannot be exported must raise :class:`spikelayers.export.ExportError`
naming its class; :func:`check_export_error` checks that. :func:`check_onnx` does the
same comparison for the ONNX model run in onnxruntime.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..explicit_state import memories
from ..export import INPUT_NAME, ExportedSignature, ExportError, export, to_onnx
from ..functional import set_step_mode
from .case import LayerCase, output_tensors
from .compare import assert_close


def eager_in_chunks(
    layer: nn.Module, x_seq: torch.Tensor, chunkable: bool = True, step_modes: tuple[str, ...] | None = None
) -> list[torch.Tensor]:
    """Feed ``x_seq`` ``[T, N, *]`` to a copy of ``layer`` as two multi-step chunks (one call
    when not ``chunkable``; single steps for a layer without multi-step mode); return the
    outputs ``[T, N, *']`` and leave the final state in ``layer``.

    ``step_modes`` are the modes the layer runs in (a case's ``LayerCase.modes()``, which
    knows that a block without a ``step_mode``, like an attention block, takes whole
    sequences); by default the modes the layer says it supports, else single-step only.
    """
    modes = step_modes if step_modes is not None else getattr(layer, "supported_step_mode", lambda: ("s",))()
    with torch.no_grad():
        if "m" in modes:
            set_step_mode(layer, "m")
            split = x_seq.shape[0] // 2 if chunkable else x_seq.shape[0]
            chunks = [x_seq[:split], x_seq[split:]] if 0 < split < x_seq.shape[0] else [x_seq]
            parts = [output_tensors(layer(chunk)) for chunk in chunks]
            return [torch.cat(pieces) for pieces in zip(*parts)]
        set_step_mode(layer, "s")
        steps = [output_tensors(layer(x_t)) for x_t in x_seq]
        return [torch.stack(pieces) for pieces in zip(*steps)]


def run_exported_steps(program: Any, x_seq: torch.Tensor) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Feed ``x_seq`` ``[T, N, *]`` one step at a time to an exported single-step program,
    carrying the state; return the stacked outputs and the final memories."""
    signature = program.spikelayers_signature
    module = program.module()
    state = list(signature.initial.values())
    outputs = []
    with torch.no_grad():
        for x_t in x_seq:
            y, *state = module(x_t, *state)
            outputs.append(y)
    return _stacked(outputs), dict(zip(signature.memory_names, state))


def _label(case: LayerCase, layer: nn.Module, step_mode: str) -> str:
    return f"{case.name or type(layer).__name__} (exported, step_mode={step_mode!r})"


def check_export(case: LayerCase, step_mode: str, *, train: bool = False, random: bool = False) -> None:
    """The exported program of ``case``'s layer in ``step_mode`` equals eager over a
    sequence run in chunks (outputs, and in ``'s'`` the final memories).

    The layer is exported in eval mode unless ``train``. A layer that draws random
    numbers (``random``) is instead compared with eager fed like the program (step by
    step, or the whole sequence) from the same seed.
    """
    layer = case.build().train(train)
    label = _label(case, layer, step_mode)
    x = case.sequence().detach()
    eager = copy.deepcopy(layer)
    torch.manual_seed(case.seed)
    if random:
        set_step_mode(eager, step_mode)
        with torch.no_grad():
            expected = output_tensors(eager(x)) if step_mode == "m" else _stacked([eager(x_t) for x_t in x])
    else:
        expected = eager_in_chunks(eager, x, case.chunkable, case.modes())
    program = export(layer, x[0] if step_mode == "s" else x, step_mode)
    torch.manual_seed(case.seed)
    if step_mode == "s":
        actual, final = run_exported_steps(program, x)
        assert_close(actual, expected, f"{label}: output over {case.T} steps", rtol=case.rtol, atol=case.atol)
        eager_final = memories(eager)
        for name, value in final.items():
            assert_close(value, eager_final[name], f"{label}: final memory {name!r}", rtol=case.rtol, atol=case.atol)
    else:
        with torch.no_grad():
            actual = output_tensors(program.module()(x))
        assert_close(actual, expected, f"{label}: output sequence", rtol=case.rtol, atol=case.atol)


def _stacked(steps: list[Any]) -> list[torch.Tensor]:
    return [torch.stack(pieces) for pieces in zip(*(output_tensors(step) for step in steps))]


def check_export_error(case: LayerCase, step_mode: str, reason: str, *, train: bool = False) -> None:
    """Exporting ``case``'s layer in ``step_mode`` raises :class:`ExportError` naming the
    layer's class and containing ``reason``."""
    layer = case.build().train(train)
    name = type(layer).__name__
    x = case.sequence().detach()
    try:
        export(layer, x[0] if step_mode == "s" else x, step_mode)
    except ExportError as error:
        if name not in str(error) or reason not in str(error):
            raise AssertionError(
                f"{_label(case, layer, step_mode)}: the export error should name {name} and say {reason!r}: {error}"
            ) from None
    else:
        raise AssertionError(f"{_label(case, layer, step_mode)}: exported, but an ExportError was expected")


# -- ONNX, checked in onnxruntime ---------------------------------------------------------


def onnx_session(path: str | Path) -> Any:
    """An onnxruntime ``InferenceSession`` on the CPU for the model at ``path``."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx_chunks(
    session: Any, signature: ExportedSignature, chunks: list[torch.Tensor]
) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Feed ``chunks`` (steps ``[N, *]`` or sequences ``[T, N, *]``) to an ONNX model with
    explicit state, carrying the memories from call to call; return the outputs
    concatenated over time and the final memories."""
    state = {name: value.numpy() for name, value in signature.initial.items()}
    outputs = []
    for chunk in chunks:
        results = session.run(None, {INPUT_NAME: chunk.numpy(), **state})
        state = dict(zip(signature.memory_names, results[1:]))
        y = torch.from_numpy(results[0])
        outputs.append(y.unsqueeze(0) if signature.step_mode == "s" else y)
    final = {name: torch.from_numpy(value) for name, value in state.items()}
    return [torch.cat(outputs)], final


def check_onnx(case: LayerCase, step_mode: str, folder: str | Path, *, chunks: int = 1) -> None:
    """The ONNX model of ``case``'s layer (eval mode), run in onnxruntime, equals eager
    over a sequence run in chunks.

    ``'s'``: the single-step model fed one step at a time (outputs and final memories).
    ``'m'``: with ``chunks=1`` the whole-sequence model from the initial state; with
    ``chunks=k`` (``k`` dividing ``T``) a model with explicit state fed ``k`` equal chunks.
    Needs ``onnx``, ``onnxscript`` and ``onnxruntime``.
    """
    layer = case.build().eval()
    label = f"{case.name or type(layer).__name__} (ONNX in onnxruntime, step_mode={step_mode!r})"
    x = case.sequence().detach()
    eager = copy.deepcopy(layer)
    expected = eager_in_chunks(eager, x, case.chunkable, case.modes())
    path = Path(folder) / f"{case.id}-{step_mode}-{chunks}.onnx"
    if step_mode == "s":
        signature = to_onnx(layer, x[0], path, "s")
        pieces = list(x)
    else:
        if case.T % chunks:
            raise ValueError(f"check_onnx: chunks={chunks} does not divide T={case.T} of {case.id}")
        pieces = list(x.chunk(chunks))
        signature = to_onnx(layer, pieces[0], path, "m", state=chunks > 1)
    actual, final = run_onnx_chunks(onnx_session(path), signature, pieces)
    how = "step by step" if step_mode == "s" else f"in {chunks} chunk(s)"
    assert_close(actual, expected[:1], f"{label}: output fed {how}", rtol=case.rtol, atol=case.atol)
    eager_final = memories(eager)
    for name, value in final.items():
        assert_close(value, eager_final[name], f"{label}: final memory {name!r}", rtol=case.rtol, atol=case.atol)
