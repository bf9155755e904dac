"""Argument and input checks shared by the PSN, gated LIF and DSR neurons.

Every error names the layer, what it expected and what it got. Integers are accepted
where the reference asserts a float: they mean the same number.
"""

from __future__ import annotations

import numbers

import torch

from spikelayers.shapes import check_min_dim


def positive_int(layer: str, name: str, value: object) -> int:
    """``value`` as an ``int >= 1``; ``ValueError`` (or ``TypeError``) otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: {name} must be at least 1, got {value!r}")
    return int(value)


def real(layer: str, name: str, value: object) -> float:
    """``value`` (an int or a float) as a ``float``; ``TypeError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name} must be a float, got {value!r}")
    return float(value)


def open_unit(layer: str, name: str, value: object) -> float:
    """``value`` as a float strictly between 0 and 1 (the domain of a logit)."""
    number = real(layer, name, value)
    if not 0.0 < number < 1.0:
        raise ValueError(f"{layer}: {name} must lie strictly between 0 and 1, got {value!r}")
    return number


def check_sequence(layer: torch.nn.Module, x_seq: torch.Tensor, T: int | None = None) -> None:
    """``x_seq`` must be ``[T, N, *]`` (at least 2-D) with ``T`` steps when ``T`` is given."""
    check_min_dim(layer, x_seq, 2, "[T, N, *]")
    if T is not None and x_seq.shape[0] != T:
        raise ValueError(
            f"{type(layer).__name__} was built for T={T} steps and expects x_seq [T, N, *] with "
            f"{T} steps, got shape {tuple(x_seq.shape)}"
        )
