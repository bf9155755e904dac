"""Checks of constructor arguments shared by every layer family.

Each check returns the value (normalised where it says so) or raises ``ValueError``
naming the layer, the argument, what was expected and what was given. ``bool`` is never
taken for a number, although Python makes it an ``int``.
"""

from __future__ import annotations

import math
import numbers
import operator

__all__ = ["non_negative_int", "non_negative_number", "positive_int", "probability", "tau"]


def positive_int(layer: str, name: str, value: object) -> int:
    """``value`` as an ``int`` if it is an integer ``>= 1`` (``2`` or ``torch``/``numpy`` ints, not ``2.0``)."""
    number = _integer(layer, name, value, "a positive int")
    if number < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return number


def non_negative_int(layer: str, name: str, value: object) -> int:
    """``value`` as an ``int`` if it is an integer ``>= 0``."""
    number = _integer(layer, name, value, "a non-negative int")
    if number < 0:
        raise ValueError(f"{layer}: {name} must be a non-negative int, got {value!r}")
    return number


def probability(layer: str, name: str, value: object, *, include_one: bool = True) -> float:
    """``value`` as a ``float`` in ``[0, 1]`` (``[0, 1)`` when ``include_one`` is false)."""
    upper = "<= 1" if include_one else "< 1"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{layer}: {name} must be a number with 0 <= {name} {upper}, got {value!r}")
    number = float(value)
    if not (0.0 <= number <= 1.0) or (not include_one and number == 1.0):
        raise ValueError(f"{layer}: {name} must satisfy 0 <= {name} {upper}, got {value!r}")
    return number


def non_negative_number(layer: str, name: str, value: object) -> float:
    """``value`` as a finite ``float`` ``>= 0`` (an epsilon, a rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{layer}: {name} must be a non-negative number, got {value!r}")
    number = float(value)
    if not (number >= 0.0 and math.isfinite(number)):
        raise ValueError(f"{layer}: {name} must be a non-negative number, got {value!r}")
    return number


def tau(layer: str, value: object, name: str = "tau", *, minimum: float = 1.0) -> float:
    """``value`` as a finite ``float`` greater than ``minimum`` (a time constant; 1 by default)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{layer}: {name} must be a number greater than {minimum:g}, got {value!r}")
    number = float(value)
    if not (number > minimum and math.isfinite(number)):
        raise ValueError(f"{layer}: {name} must be a finite number greater than {minimum:g}, got {value!r}")
    return number


def _integer(layer: str, name: str, value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}") from None
