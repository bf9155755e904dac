"""Constructor argument checks shared by the attention layers."""

from __future__ import annotations

from spikelayers.validators import positive_int

__all__ = ["positive_int", "reduction_ratio"]


def reduction_ratio(layer: str, name: str, value: object, size_name: str, size: int) -> int:
    """A reduction ratio ``1 <= value <= size`` (so that ``size // value >= 1``)."""
    value = positive_int(layer, name, value)
    if value > size:
        raise ValueError(
            f"{layer}: {name} must be at most {size_name}={size} (so that {size_name} // {name} >= 1), got {value}"
        )
    return value
