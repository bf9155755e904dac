"""Input checks shared by the normalisation layers: rank and channel count."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.shapes import check_dim, check_min_dim


class Layout:
    """The accepted layouts of one step: ranks (``None``: any rank >= 2) and their text.

    Args:
        ranks: accepted ranks of one step ``[N, C, *]``, or ``None`` for any rank >= 2.
        text: the one-step layout, e.g. ``"[N, C, H, W]"``.
    """

    def __init__(self, ranks: tuple[int, ...] | None, text: str) -> None:
        self.ranks = ranks
        self.text = text

    def multi_step_text(self) -> str:
        return self.text.replace("[N,", "[T, N,")

    def check(self, module: nn.Module, x: torch.Tensor, multi_step: bool, channels: int) -> None:
        """Raise ``ValueError`` naming ``module`` unless ``x`` fits (with ``T`` first when ``multi_step``)."""
        extra = 1 if multi_step else 0
        text = self.multi_step_text() if multi_step else self.text
        if self.ranks is None:
            check_min_dim(module, x, 2 + extra, text)
        else:
            check_dim(module, x, [rank + extra for rank in self.ranks], text)
        if x.shape[1 + extra] != channels:
            mode = f" (step_mode={getattr(module, 'step_mode', '?')!r})"
            raise ValueError(
                f"{type(module).__name__}{mode} expects input {text} with C={channels} channels, "
                f"got shape {tuple(x.shape)}"
            )


LAYOUT_1D = Layout((2, 3), "[N, C] or [N, C, L]")
LAYOUT_2D = Layout((4,), "[N, C, H, W]")
LAYOUT_3D = Layout((5,), "[N, C, D, H, W]")
LAYOUT_ND = Layout(None, "[N, C, *]")
