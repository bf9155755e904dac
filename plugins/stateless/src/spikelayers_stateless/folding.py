"""Folding time into the batch: the one forward shared by every stateless wrapper.

A stateless layer gives the same result whether it sees one step or many, so in
multi-step mode it folds ``T`` into the batch, runs the torch layer once and unfolds:
``[T, N, *] -> [T * N, *] -> [T, N, *']``. :class:`spikelayers.shapes.Layout` says which input
ranks a layer accepts in each step mode (and which dimension must match a feature
count); :class:`FoldedLayer` checks the input against it and does the folding.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from spikelayers.base import StepModule
from spikelayers.shapes import Layout, floating_input, fold, unfold

__all__ = ["FoldedLayer", "Layout", "spatial_layout", "unfold"]

_SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}


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
        ranks=single_ranks,
        text=single_text,
        multi_ranks=(spatial + 3,),
        multi_text=f"[T, N, C, {names}]",
        feature_dim=None if feature_attr is None else -(spatial + 1),
        feature_attr=feature_attr,
    )


class FoldedLayer(StepModule):
    """Mixin, listed before a torch layer in the bases, that gives it step modes.

    ``'s'``: the torch layer on one step, after checking the input against
    :attr:`layout` (spikes given as ``bool`` or integers become floats). ``'m'``: ``[T, N, *] -> [T * N, *]`` (a view when the input allows),
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
        if not x.is_floating_point():
            x = floating_input(self, x, *self.parameters(recurse=False))
        if not multi_step or not self.folds_time:
            return super().forward(x, *args, **kwargs)
        return unfold(super().forward(fold(x), *args, **kwargs), x.shape[:2])
