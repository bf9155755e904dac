"""The input layouts of the normalisation layers (see :class:`spikelayers.shapes.Layout`).

Each names one step ``[N, C, *]``; in ``'m'`` a sequence has ``T`` in front, and ``C``
(dimension 1 of a step) must equal the layer's channel count.
"""

from __future__ import annotations

from spikelayers.shapes import Layout

LAYOUT_1D = Layout((2, 3), "[N, C] or [N, C, L]", feature_dim=1)
LAYOUT_2D = Layout((4,), "[N, C, H, W]", feature_dim=1)
LAYOUT_3D = Layout((5,), "[N, C, D, H, W]", feature_dim=1)
LAYOUT_ND = Layout((2,), "[N, C, *]", open_ended=True, feature_dim=1)
