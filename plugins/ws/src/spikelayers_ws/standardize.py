"""Weight standardisation: the formula shared by WSConv2d and WSLinear."""

from __future__ import annotations

import torch

from spikelayers.validators import non_negative_number


def fan_in_of(weight: torch.Tensor) -> int:
    """The number of weights of one output unit (everything but dim 0)."""
    return weight[0].numel()


def check_fan_in(name: str, weight: torch.Tensor) -> None:
    """Raise ``ValueError`` naming ``name`` when an output unit has fewer than 2 weights.

    The unbiased variance of a single weight is undefined, so standardising it would
    give NaN on every forward.
    """
    fan_in = fan_in_of(weight)
    if fan_in < 2:
        raise ValueError(
            f"{name}: weight standardisation needs at least 2 weights per output unit, got fan_in={fan_in} "
            f"(weight shape {tuple(weight.shape)})"
        )


def standardize_weight(weight: torch.Tensor, gain: torch.Tensor | None, eps: float) -> torch.Tensor:
    """``gain * (W - mean) / sqrt(var * fan_in + eps)`` per output unit.

    Args:
        weight: ``[out, *]``; statistics are taken over ``*`` for each output unit.
        gain: ``[out, 1, ...]`` (broadcast over ``*``), or ``None`` for no gain.
        eps: added to ``var * fan_in`` under the square root.

    Returns:
        The standardised weight, shaped like ``weight``. ``var`` is the unbiased
        variance; ``fan_in`` is the number of weights of one output unit.
    """
    dims = tuple(range(1, weight.dim()))
    var, mean = torch.var_mean(weight, dim=dims, correction=1, keepdim=True)
    standardized = (weight - mean) * torch.rsqrt(var * fan_in_of(weight) + eps)
    return standardized if gain is None else standardized * gain


def check_eps(name: str, eps: float) -> float:
    """``eps`` as a float; ``ValueError`` naming ``name`` unless it is a non-negative number."""
    return non_negative_number(name, "eps", eps)
