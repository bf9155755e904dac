"""NIR converters of WSConv2d and WSLinear (loaded only by spikelayers-nir).

Each is written as the plain Conv2d / Affine (Linear without bias) whose weight is the
standardised weight its forward uses now.
"""

from __future__ import annotations

import nir
import numpy as np
import torch

from spikelayers_nir.api import ExportContext
from spikelayers_stateless.nir_converters import conv2d_node

from .conv import WSConv2d
from .linear import WSLinear


def _weight(layer: WSConv2d | WSLinear) -> np.ndarray:
    with torch.no_grad():
        return layer.get_weight().detach().cpu().numpy().copy()


def export_ws_conv2d(layer: WSConv2d, context: ExportContext) -> nir.Conv2d:
    if layer.padding_mode != "zeros":
        raise context.refuse(f"padding_mode={layer.padding_mode!r}; NIR convolutions pad with zeros only")
    weight = _weight(layer)
    bias = (
        layer.bias.detach().cpu().numpy().copy() if layer.bias is not None else np.zeros(weight.shape[0], weight.dtype)
    )
    return conv2d_node(layer, weight, bias, context)


def export_ws_linear(layer: WSLinear, context: ExportContext) -> nir.NIRNode:
    weight = _weight(layer)
    if layer.bias is None:
        return nir.Linear(weight=weight)
    return nir.Affine(weight=weight, bias=layer.bias.detach().cpu().numpy().copy())
