"""Upsampling with step modes."""

from __future__ import annotations

from torch import nn

from .folding import FoldedLayer, Layout

_SPATIAL_BY_MODE = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_BATCHED = {1: "[N, C, L]", 2: "[N, C, H, W]", 3: "[N, C, D, H, W]"}


class Upsample(FoldedLayer, nn.Upsample):
    """:class:`torch.nn.Upsample` with step modes.

    Input ``[N, C, *spatial]`` in ``'s'``; ``[T, N, C, *spatial]`` in ``'m'`` (folded into
    the batch, resized in one call). The number of spatial dims (1 to 3) is fixed by
    ``mode`` (``'bilinear'`` means 2) or by a tuple ``size`` / ``scale_factor``; when
    neither fixes it, any of 1 to 3 is accepted.

    Args:
        size, scale_factor, mode, align_corners, recompute_scale_factor: as in
            :class:`torch.nn.Upsample`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    def __init__(
        self,
        size: int | tuple[int, ...] | None = None,
        scale_factor: float | tuple[float, ...] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
        step_mode: str = "s",
    ) -> None:
        super().__init__(size, scale_factor, mode, align_corners, recompute_scale_factor)
        self.step_mode = step_mode

    def spatial_dims(self) -> tuple[int, ...]:
        """The numbers of spatial dimensions this configuration can resize."""
        for given in (self.size, self.scale_factor):
            if isinstance(given, (tuple, list)):
                return (len(given),)
        if self.mode in _SPATIAL_BY_MODE:
            return (_SPATIAL_BY_MODE[self.mode],)
        return (1, 2, 3)

    def input_layout(self) -> Layout:
        spatial = self.spatial_dims()
        return Layout(
            ranks=tuple(s + 2 for s in spatial),
            text=" or ".join(_BATCHED[s] for s in spatial),
            multi_ranks=tuple(s + 3 for s in spatial),
            multi_text=" or ".join(_BATCHED[s].replace("[N,", "[T, N,") for s in spatial),
        )
