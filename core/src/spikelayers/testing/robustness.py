"""Robustness checks: unusual but legal inputs, and mixed precision.

Each check either confirms that the layer gives the single-step reference's answer on
the input, or that it refuses the input with an error naming the layer. Silent
broadcasting, wrong answers and errors from deep inside torch fail.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from ..functional import set_step_mode
from .case import LayerCase
from .compare import assert_close
from .running import run_sequence, snapshot_memories

CLEAR_ERRORS = (ValueError, TypeError, RuntimeError)


@dataclass(frozen=True)
class InputVariant:
    """How to alter a case's input sequence ``[T, N, *]``.

    Args:
        T: number of time steps.
        batch: batch size ``N`` (0 for an empty batch).
        layout: ``"contiguous"``, ``"strided"`` (same values, non-contiguous memory) or
            ``"channels_last"`` (for inputs of 4 or 5 dims per step).
        special: ``None``, ``"nan"`` or ``"inf"``: one element of the input set to it.
    """

    T: int = 3
    batch: int = 2
    layout: str = "contiguous"
    special: str | None = None


def make_input(case: LayerCase, variant: InputVariant, seed: int = 0) -> torch.Tensor:
    """The case's input sequence altered as ``variant`` says."""
    shape = (variant.T, variant.batch, *case.input_shape[1:])
    generator = torch.Generator().manual_seed(seed)
    x = case.input_fn(shape, generator, case.dtype)
    if variant.special is not None and x.numel():
        flat = x.view(-1)
        flat[len(flat) // 2] = float(variant.special)
    if variant.layout == "strided":
        strided = torch.empty(tuple(reversed(shape)), dtype=x.dtype).permute(*reversed(range(len(shape))))
        x = strided.copy_(x)
    elif variant.layout == "channels_last":
        per_step = x.flatten(0, 1)
        fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(per_step.dim())
        if fmt is not None:
            x = per_step.contiguous(memory_format=fmt).unflatten(0, shape[:2])
    return x


def check_input_variant(case: LayerCase, variant: InputVariant) -> None:
    """Multi-step on the altered input equals a loop of single steps, or raises clearly.

    For multi-step-only layers the altered input must give the answer of the same input
    made contiguous. Either way the error, if any, must name the layer.
    """
    modes = case.modes()
    layer = case.build_in_mode("m" if "m" in modes else "s")
    name = type(layer).__name__
    x = make_input(case, variant)
    reference_input = x.contiguous()
    mode = "m" if "m" in modes else "s"
    try:
        with torch.no_grad():
            actual = run_sequence(layer, x, mode)
    except CLEAR_ERRORS as error:
        if name not in str(error):
            raise AssertionError(
                f"{name}: {variant} raised an error that does not name the layer: {type(error).__name__}: {error}"
            ) from None
        return
    reference = copy.deepcopy(case.build_in_mode(mode))
    if {"s", "m"} <= set(modes):
        set_step_mode(reference, "s")
        with torch.no_grad():
            expected = run_sequence(reference, reference_input, "s")
    else:
        with torch.no_grad():
            expected = run_sequence(reference, reference_input, mode)
    assert_close(actual, expected, f"{name}: {variant} vs the reference", rtol=case.rtol, atol=case.atol)


def check_autocast(
    case: LayerCase, device: str = "cpu", dtype: torch.dtype = torch.bfloat16, tolerance: float = 0.1
) -> None:
    """Under ``torch.autocast`` the outputs stay close to float32 and memories stay floating.

    Close means: the mean absolute difference is at most ``tolerance`` times the mean
    magnitude of the float32 output (a few spikes may flip at the threshold).
    """
    mode = "m" if "m" in case.modes() else "s"
    layer = case.build_in_mode(mode)
    name = type(layer).__name__
    mixed = copy.deepcopy(layer)
    x = case.sequence().detach()
    with torch.no_grad():
        expected = run_sequence(layer, x, mode)
        with torch.autocast(device_type=device, dtype=dtype):
            actual = run_sequence(mixed, x, mode)
    for index, (a, e) in enumerate(zip(actual, expected)):
        if a.shape != e.shape:
            raise AssertionError(
                f"{name}: output {index} under autocast has shape {tuple(a.shape)}, float32 gives {tuple(e.shape)}"
            )
        if not (a.is_floating_point() or a.dtype == torch.bool) and e.is_floating_point():
            raise AssertionError(f"{name}: output {index} under autocast has dtype {a.dtype}")
        error = (a.double() - e.double()).abs().mean().item()
        scale = e.double().abs().mean().item()
        if error > tolerance * max(scale, 1e-3):
            raise AssertionError(
                f"{name}: output {index} under autocast({dtype}) is off by {error:.3g} on average (scale {scale:.3g})"
            )
    for key, value in snapshot_memories(mixed).items():
        if (
            isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and value.dtype not in (torch.float32, dtype, case.dtype)
        ):
            raise AssertionError(f"{name}: memory {key!r} has dtype {value.dtype} under autocast({dtype})")
