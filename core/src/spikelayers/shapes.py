"""Input checks shared by every layer, with error messages that name the layer, and the
folding of time into the batch.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Layout:
    """The input ranks a layer accepts, per step mode, and how to describe them.

    Args:
        ranks: accepted ranks of one step (``'s'``), e.g. ``(4,)`` for ``[N, C, H, W]``.
        text: the one-step layout, e.g. ``"[N, C, H, W]"``.
        multi_ranks: accepted ranks of a sequence (``'m'``); by default each of ``ranks`` plus one.
        multi_text: the sequence layout; by default ``text`` with ``T`` in front of every form.
        open_ended: the ranks are minimums (layouts with a ``*``).
        feature_dim: the dimension whose size must equal a feature count given to
            :meth:`check`: counted within one step from its start when non-negative
            (``1`` for ``C`` of ``[N, C, *]``), from the end when negative.
        feature_label: the name of that size in the layout, e.g. ``"C"``.
        feature_attr: the layer attribute holding the expected size (e.g.
            ``"in_channels"``), used when :meth:`check` is given no ``features``.
    """

    ranks: tuple[int, ...]
    text: str
    multi_ranks: tuple[int, ...] | None = None
    multi_text: str | None = None
    open_ended: bool = False
    feature_dim: int | None = None
    feature_label: str = "C"
    feature_attr: str | None = None

    def layout_text(self, multi_step: bool) -> str:
        if not multi_step:
            return self.text
        return self.multi_text if self.multi_text is not None else self.text.replace("[", "[T, ")

    def accepted_ranks(self, multi_step: bool) -> tuple[int, ...]:
        if not multi_step:
            return self.ranks
        return self.multi_ranks if self.multi_ranks is not None else tuple(rank + 1 for rank in self.ranks)

    def check(
        self,
        module: nn.Module | str,
        x: torch.Tensor,
        multi_step: bool,
        features: int | None = None,
        feature_source: str | None = None,
    ) -> None:
        """Raise ``TypeError``/``ValueError`` naming ``module`` unless ``x`` fits this layout.

        ``features``: the size the feature dimension must have (not checked when
        ``None``); ``feature_source`` names the argument it comes from, e.g. ``"in_channels"``.
        """
        text = self.layout_text(multi_step)
        ranks = self.accepted_ranks(multi_step)
        if self.open_ended:
            check_min_dim(module, x, min(ranks), text)
        else:
            check_dim(module, x, ranks, text)
        if features is None and self.feature_attr is not None and not isinstance(module, str):
            features, feature_source = getattr(module, self.feature_attr), self.feature_attr
        if features is None or self.feature_dim is None:
            return
        dim = self.feature_dim + (1 if multi_step else 0) if self.feature_dim >= 0 else self.feature_dim
        if x.shape[dim] != features:
            source = "" if not feature_source or feature_source == self.feature_label else f" ({feature_source})"
            raise ValueError(
                f"{_name(module)}{_mode(module)} expects input {text} with "
                f"{self.feature_label}={features}{source}, got shape {tuple(x.shape)}"
            )


def fold(x_seq: torch.Tensor) -> torch.Tensor:
    """Fold time into the batch: ``[T, N, *] -> [T * N, *]`` (a view when the strides allow)."""
    return x_seq.flatten(0, 1)


def unfold(y: Any, leading: torch.Size | tuple[int, int]) -> Any:
    """Undo :func:`fold` on ``y`` ``[T * N, *']`` (a tensor or a tuple of them): ``[T, N, *']``."""
    if isinstance(y, tuple):
        return tuple(unfold(item, leading) for item in y)
    return y.unflatten(0, tuple(leading))


def floating_input(module: nn.Module | str, x: torch.Tensor, *like: torch.Tensor | None) -> torch.Tensor:
    """``x`` as a floating tensor: spikes given as ``bool`` or integers become floats.

    The dtype is the promotion of ``x`` with the floating tensors ``like`` (parameters,
    memories), or torch's default dtype when none is floating. A complex input raises
    ``TypeError`` naming ``module``. Floating inputs are returned as they are.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{_name(module)}{_mode(module)} expects a tensor, got {type(x).__name__}")
    if x.is_floating_point():
        return x
    if x.is_complex():
        raise TypeError(f"{_name(module)}{_mode(module)} expects real-valued input, got dtype {x.dtype}")
    return x.to(common_dtype(*like))


def common_dtype(*tensors: torch.Tensor | None) -> torch.dtype:
    """The promoted floating dtype of the floating ``tensors`` (torch's default dtype if none)."""
    dtype = None
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            dtype = tensor.dtype if dtype is None else torch.promote_types(dtype, tensor.dtype)
    return torch.get_default_dtype() if dtype is None else dtype
