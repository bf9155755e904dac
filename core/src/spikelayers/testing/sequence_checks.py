"""Conformance checks of unusual sequences: empty ones, a dtype change mid-sequence and
spikes given as integers or booleans.

Like the checks of :mod:`spikelayers.testing.checks`, each takes a
:class:`~spikelayers.testing.LayerCase` and raises ``AssertionError`` naming the layer.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from ..base import MemoryModule
from .case import LayerCase, output_tensors, spike_input
from .compare import assert_close
from .running import run_sequence, snapshot_memories

CLEAR_ERRORS = (ValueError, TypeError, RuntimeError)
INTEGER_DTYPES = (torch.bool, torch.uint8, torch.int64)


def _run(layer: nn.Module, x_seq: torch.Tensor, mode: str) -> list[torch.Tensor]:
    with torch.no_grad():
        return run_sequence(layer, x_seq, mode)


def _memories(layer: nn.Module) -> dict[str, Any]:
    return snapshot_memories(layer)


def _same_state(layer: nn.Module, before: dict[str, Any], what: str) -> None:
    after = _memories(layer)
    if after.keys() != before.keys():
        raise AssertionError(f"{what}: memories changed from {sorted(before)} to {sorted(after)}")
    for key, value in before.items():
        now = after[key]
        if isinstance(value, torch.Tensor) and isinstance(now, torch.Tensor) and value.shape != now.shape:
            raise AssertionError(f"{what}: memory {key!r} changed shape {tuple(value.shape)} -> {tuple(now.shape)}")
        assert_close(now, value, f"{what}: memory {key!r}", rtol=0.0, atol=0.0)


def _label(case: LayerCase, layer: nn.Module, mode: str) -> str:
    return f"{case.name or type(layer).__name__} ({mode!r})"


def _split(case: LayerCase, mode: str) -> int:
    """Where to cut the case's sequence: a multi-step layer with a fixed ``T`` only takes whole ones."""
    return case.T if mode == "m" and not case.chunkable else case.T // 2


# -- empty sequences ------------------------------------------------------------------


def check_empty_sequence(case: LayerCase) -> None:
    """In ``'m'``, an empty sequence ``[0, N, *]`` gives outputs ``[0, N, *']`` and changes no
    state, on a fresh layer and mid-sequence; the sequence then continues as if it had not
    been given. A layer whose ``T`` is fixed may instead refuse it with an error naming it.
    """
    layer = case.build_in_mode("m")
    name = type(layer).__name__
    label = _label(case, layer, "m")
    x = case.sequence().detach()
    empty = x[:0]
    expected_shapes = [(0, *out.shape[1:]) for out in _run(copy.deepcopy(layer), x, "m")]
    split = case.T // 2 if case.chunkable else 0
    torch.manual_seed(1234)
    whole = [output_tensors(copy.deepcopy(layer)(x))]
    torch.manual_seed(1234)
    pieces = []
    for start, stop in ((0, split), (split, case.T)):
        before = _memories(layer)
        try:
            with torch.no_grad():
                outputs = output_tensors(layer(empty))
        except CLEAR_ERRORS as error:
            if case.chunkable:
                raise AssertionError(f"{label}: an empty sequence {tuple(empty.shape)} raised {error!r}") from None
            if name not in str(error):
                raise AssertionError(
                    f"{label}: the error for an empty sequence does not name the layer: {error!r}"
                ) from None
            _same_state(layer, before, f"{label}: state after a refused empty sequence")
            return
        shapes = [tuple(out.shape) for out in outputs]
        if shapes != expected_shapes:
            raise AssertionError(f"{label}: an empty sequence gave outputs {shapes}, expected {expected_shapes}")
        _same_state(layer, before, f"{label}: state after an empty sequence")
        if stop > start:
            pieces.append(output_tensors(layer(x[start:stop])))
    continued = [torch.cat(parts) for parts in zip(*pieces)]
    assert_close(
        continued, whole[0], f"{label}: outputs with empty sequences in between", rtol=case.rtol, atol=case.atol
    )


# -- dtype changes --------------------------------------------------------------------


def check_dtype_change(case: LayerCase, wide: torch.dtype = torch.float64) -> None:
    """A dtype change mid-sequence gives the promoted result.

    After part of a sequence in the case's dtype: ``layer.to(wide)`` converts every
    floating memory to ``wide`` and the rest of the sequence in ``wide`` gives ``wide``
    outputs that match the rest computed in the case's dtype. Without the conversion, a
    step in ``wide`` gives the promoted (``wide``) result as torch ops do, unless the
    layer refuses ``wide`` inputs from a fresh state as well (a layer whose parameters
    fix the dtype, like a convolution).
    """
    tolerance = {"rtol": max(case.rtol, 1e-4), "atol": max(case.atol, 1e-4)}
    for mode in case.modes():
        layer = case.build_in_mode(mode)
        label = _label(case, layer, mode)
        x = case.sequence().detach()
        split = _split(case, mode)
        rest = x[split:] if split < case.T else x
        _run(layer, x[:split], mode)
        expected = _run(copy.deepcopy(layer), rest, mode)

        converted = copy.deepcopy(layer).to(wide)
        for key, value in _memories(converted).items():
            if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != wide:
                raise AssertionError(f"{label}: after .to({wide}) memory {key!r} still has dtype {value.dtype}")
        actual = _run(converted, rest.to(wide), mode)
        _check_promoted(actual, expected, wide, f"{label}: rest of the sequence after .to({wide})", tolerance)

        try:
            _run(case.build_in_mode(mode), rest.to(wide), mode)
        except CLEAR_ERRORS:
            continue  # the layer takes no other dtype than its parameters', even when fresh
        mixed = copy.deepcopy(layer)
        try:
            actual = _run(mixed, rest.to(wide), mode)
        except CLEAR_ERRORS as error:
            raise AssertionError(
                f"{label}: a {wide} step after {case.dtype} steps raised {type(error).__name__}: {error}"
            ) from None
        _check_promoted(actual, expected, wide, f"{label}: {wide} steps after {case.dtype} steps", tolerance)


def _check_promoted(
    actual: list[torch.Tensor], expected: list[torch.Tensor], wide: torch.dtype, what: str, tolerance: dict
) -> None:
    for index, (a, e) in enumerate(zip(actual, expected)):
        if e.is_floating_point() and a.dtype != torch.promote_types(e.dtype, wide):
            raise AssertionError(f"{what}: output {index} has dtype {a.dtype}, expected {wide}")
    assert_close([a.double() for a in actual], [e.double() for e in expected], what, **tolerance)


# -- integer and boolean spikes -------------------------------------------------------


def check_integer_spikes(case: LayerCase) -> None:
    """Spikes given as ``bool``, ``uint8`` or ``int64`` give the values of the same spikes
    given as floats, in every step mode (never a truncated result), or an error that
    names the layer, and a refused call changes no state.
    """
    shape = (case.T, *case.input_shape)
    spikes = spike_input(shape, torch.Generator().manual_seed(5), case.dtype)
    for mode in case.modes():
        reference = case.build_in_mode(mode)
        name = type(reference).__name__
        label = _label(case, reference, mode)
        expected = _run(copy.deepcopy(reference), spikes, mode)
        for dtype in INTEGER_DTYPES:
            layer = copy.deepcopy(reference)
            before = _memories(layer)
            try:
                actual = _run(layer, spikes.to(dtype), mode)
            except CLEAR_ERRORS as error:
                if name not in str(error):
                    raise AssertionError(
                        f"{label}: {dtype} spikes raised an error that does not name the layer: "
                        f"{type(error).__name__}: {error}"
                    ) from None
                _state_unchanged_after_refusal(layer, before, f"{label}: state after refusing {dtype} spikes")
                continue
            for index, (a, e) in enumerate(zip(actual, expected)):
                if e.is_floating_point() and not (a.is_floating_point() or a.dtype == dtype):
                    raise AssertionError(f"{label}: {dtype} spikes gave output {index} of dtype {a.dtype}")
            assert_close(
                [a.to(e.dtype) for a, e in zip(actual, expected)],
                expected,
                f"{label}: {dtype} spikes vs the same spikes as {case.dtype}",
                rtol=case.rtol,
                atol=case.atol,
            )


def _state_unchanged_after_refusal(layer: nn.Module, before: dict[str, Any], what: str) -> None:
    if any(isinstance(module, MemoryModule) for module in layer.modules()):
        _same_state(layer, before, what)
