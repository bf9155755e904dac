"""NIR converter of Dropout and Dropout2d (loaded only by spikelayers-nir).

NIR describes inference, where dropout is the identity: the layer is dropped from the graph.
"""

from __future__ import annotations

from torch import nn

from spikelayers_nir.api import ExportContext


def export_dropout(layer: nn.Module, context: ExportContext) -> None:
    return None
