"""Input checks shared by every layer, with error messages that name the layer."""

from __future__ import annotations

from collections.abc import Collection

import torch
from torch import nn


def check_dim(
    module: nn.Module | str,
    x: torch.Tensor,
    dims: int | Collection[int],
    layout: str,
) -> None:
    """Raise ``ValueError`` unless ``x.dim()`` is one of ``dims``.

    ``layout`` describes what was expected, e.g. ``"[T, N, C, H, W]"``.
    """
    allowed = (dims,) if isinstance(dims, int) else tuple(dims)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{_name(module)}{_mode(module)} expects a tensor {layout}, got {type(x).__name__}")
    if x.dim() not in allowed:
        raise ValueError(
            f"{_name(module)}{_mode(module)} expects input {layout} "
            f"({' or '.join(map(str, allowed))}-D), got shape {tuple(x.shape)}"
        )


def check_min_dim(module: nn.Module | str, x: torch.Tensor, min_dim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``x`` has at least ``min_dim`` dimensions."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{_name(module)}{_mode(module)} expects a tensor {layout}, got {type(x).__name__}")
    if x.dim() < min_dim:
        raise ValueError(
            f"{_name(module)}{_mode(module)} expects input {layout} (at least {min_dim}-D), got shape {tuple(x.shape)}"
        )


def _name(module: nn.Module | str) -> str:
    return module if isinstance(module, str) else type(module).__name__


def _mode(module: nn.Module | str) -> str:
    mode = getattr(module, "step_mode", None)
    return f" (step_mode={mode!r})" if isinstance(mode, str) else ""
