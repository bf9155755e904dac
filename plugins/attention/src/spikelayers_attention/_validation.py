"""Constructor argument checks shared by the attention layers."""

from __future__ import annotations


def positive_int(layer: str, name: str, value: object) -> int:
    """``value`` if it is an int >= 1, else ``ValueError`` naming ``layer`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


def reduction_ratio(layer: str, name: str, value: object, size_name: str, size: int) -> int:
    """A reduction ratio ``1 <= value <= size`` (so that ``size // value >= 1``)."""
    positive_int(layer, name, value)
    if value > size:
        raise ValueError(
            f"{layer}: {name} must be at most {size_name}={size} (so that {size_name} // {name} >= 1), got {value}"
        )
    return value
