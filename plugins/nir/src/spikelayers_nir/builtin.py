"""Converters that ship with spikelayers-nir, registered through the same hook as the families'."""

from __future__ import annotations

import nir
import numpy as np
from torch import nn

from .api import ExportContext, ImportContext, tensor_of
from .modules import SumPool2d, Threshold


def export_identity(layer: nn.Identity, context: ExportContext) -> None:
    """``nn.Identity`` passes its input on: no node."""
    return None


def import_sum_pool_2d(node: nir.SumPool2d, context: ImportContext) -> SumPool2d:
    return SumPool2d(
        _pair(node.kernel_size, "kernel_size", context),
        _pair(node.stride, "stride", context),
        _pair(node.padding, "padding", context),
        step_mode=context.step_mode,
    )


def export_sum_pool_2d(layer: SumPool2d, context: ExportContext) -> nir.SumPool2d:
    return nir.SumPool2d(
        kernel_size=np.array(layer.kernel_size), stride=np.array(layer.stride), padding=np.array(layer.padding)
    )


def import_threshold(node: nir.Threshold, context: ImportContext) -> Threshold:
    return Threshold(tensor_of(node.threshold), step_mode=context.step_mode)


def export_threshold(layer: Threshold, context: ExportContext) -> nir.Threshold:
    return nir.Threshold(threshold=layer.threshold.detach().cpu().numpy().astype(np.float64))


def _pair(value: object, what: str, context: ImportContext) -> tuple[int, int]:
    array = np.atleast_1d(np.asarray(value)).astype(np.int64)
    if array.size == 1:
        return int(array[0]), int(array[0])
    if array.size != 2:
        raise context.refuse(f"{what} must be one or two ints, got {array.tolist()}")
    return int(array[0]), int(array[1])
