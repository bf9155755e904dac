"""NIR converters of BatchNorm1d/2d (loaded only by spikelayers-nir).

NIR has no normalisation node: in eval mode a batch norm is the per-channel affine map
``x * gamma / sqrt(var + eps) + (beta - mean * gamma / sqrt(var + eps))``, folded (in
float64) into the Linear or Conv layer right before it.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from spikelayers_nir.api import ExportContext, Fold


def export_batch_norm(layer: nn.modules.batchnorm._BatchNorm, context: ExportContext) -> Fold:
    if layer.training:
        raise context.refuse("in training mode it normalises with the batch's statistics; call .eval() to fold it")
    if layer.running_mean is None or layer.running_var is None:
        raise context.refuse("it keeps no running statistics (track_running_stats=False), so there is nothing to fold")
    mean = layer.running_mean.detach().cpu().double().numpy()
    var = layer.running_var.detach().cpu().double().numpy()
    scale = 1.0 / np.sqrt(var + float(layer.eps))
    shift = -mean * scale
    if layer.weight is not None:
        gamma = layer.weight.detach().cpu().double().numpy()
        scale, shift = scale * gamma, shift * gamma
    if layer.bias is not None:
        shift = shift + layer.bias.detach().cpu().double().numpy()
    return Fold(scale=scale, shift=shift)
