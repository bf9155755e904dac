"""Folding time into the batch: the one forward shared by every stateless wrapper.

A stateless layer gives the same result whether it sees one step or many, so in
multi-step mode it folds ``T`` into the batch, runs the torch layer once and unfolds:
``[T, N, *] -> [T * N, *] -> [T, N, *']``. :class:`Layout` says which input ranks a
layer accepts in each step mode (and which dimension must match a feature count);
:class:`FoldedLayer` checks the input against it and does the folding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from spikelayers.base import StepModule
from spikelayers.shapes import check_dim, check_min_dim

_SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}


@dataclass(frozen=True)
class Layout:
    """The input ranks a layer accepts, per step mode, and how to describe them.

    Args:
        single_ranks: accepted ranks of one step (``'s'``).
        single_text: the one-step layout, e.g. ``"[N, C, H, W] or [C, H, W]"``.
        multi_ranks: accepted ranks of a sequence (``'m'``).
        multi_text: the sequence layout, e.g. ``"[T, N, C, H, W]"``.
        open_ended: the ranks are minimums (layouts with a ``*``).
        feature_dim: a dimension (counted from the end) whose size must equal the
            layer's attribute ``feature_attr``, e.g. ``-3`` and ``"in_channels"``.
        feature_attr: see ``feature_dim``.
        feature_label: the name of that size in the layout, e.g. ``"C"``.
    """

    single_ranks: tuple[int, ...]
    single_text: str
    multi_ranks: tuple[int, ...]
    multi_text: str
    open_ended: bool = False
    feature_dim: int | None = None
    feature_attr: str | None = None
    feature_label: str = "C"

    def check(self, module: nn.Module, x: torch.Tensor, multi_step: bool) -> None:
        """Raise ``ValueError`` naming ``module`` unless ``x`` fits this layout."""
        ranks = self.multi_ranks if multi_step else self.single_ranks
        text = self.multi_text if multi_step else self.single_text
        if self.open_ended:
            check_min_dim(module, x, min(ranks), text)
        else:
            check_dim(module, x, ranks, text)
        if self.feature_dim is None or self.feature_attr is None:
            return
        expected = getattr(module, self.feature_attr)
        if x.shape[self.feature_dim] != expected:
            source = "" if self.feature_label == self.feature_attr else f" ({self.feature_attr})"
            raise ValueError(
                f"{type(module).__name__} (step_mode={module.step_mode!r}) expects input {text} with "
                f"{self.feature_label}={expected}{source}, got shape {tuple(x.shape)}"
            )


def spatial_layout(
    spatial: int,
    unbatched: bool = True,
    feature_attr: str | None = None,
) -> Layout:
    """The layout ``[N, C, *spatial]`` of convolutions and pools with ``spatial`` dims.

    Args:
        spatial: number of spatial dimensions (1, 2 or 3).
        unbatched: whether single-step mode also takes ``[C, *spatial]`` (as torch does).
        feature_attr: the attribute that ``C`` must equal, e.g. ``"in_channels"``.
    """
    names = _SPATIAL_NAMES[spatial]
    batched = f"[N, C, {names}]"
    single_text = f"{batched} or [C, {names}]" if unbatched else batched
    single_ranks = (spatial + 1, spatial + 2) if unbatched else (spatial + 2,)
    return Layout(
        single_ranks=single_ranks,
        single_text=single_text,
        multi_ranks=(spatial + 3,),
        multi_text=f"[T, N, C, {names}]",
        feature_dim=None if feature_attr is None else -(spatial + 1),
        feature_attr=feature_attr,
    )


def unfold(y: Any, leading: torch.Size) -> Any:
    """Split the folded batch of ``y`` (a tensor or a tuple of them) back into ``leading``."""
    if isinstance(y, tuple):
        return tuple(unfold(item, leading) for item in y)
    return y.unflatten(0, leading)


class FoldedLayer(StepModule):
    """Mixin, listed before a torch layer in the bases, that gives it step modes.

    ``'s'``: the torch layer on one step, after checking the input against
    :attr:`layout`. ``'m'``: ``[T, N, *] -> [T * N, *]`` (a view when the input allows),
    the torch layer once, then every output unfolded to ``[T, N, *']``. Extra forward
    arguments (such as ``output_size`` of a transposed convolution) pass through.
    """

    layout: ClassVar[Layout]
    folds_time: ClassVar[bool] = True
    """False for a torch layer that already takes any leading dims (``Linear``): its
    multi-step mode then calls it on ``[T, N, *]`` directly, without the two views."""

    def input_layout(self) -> Layout:
        """The layout this layer accepts; a class attribute unless the layer's arguments decide it."""
        return self.layout

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        """``[N, *] -> [N, *']`` in ``'s'``; ``[T, N, *] -> [T, N, *']`` in ``'m'``."""
        multi_step = self.step_mode == "m"
        self.input_layout().check(self, x, multi_step)
        if not multi_step or not self.folds_time:
            return super().forward(x, *args, **kwargs)
        return unfold(super().forward(x.flatten(0, 1), *args, **kwargs), x.shape[:2])
