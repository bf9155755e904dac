"""NIR converters of the stateless layers (loaded only by spikelayers-nir, never at plugin import).

Export: Linear -> Affine (Linear without bias); Conv1d/Conv2d -> Conv1d/Conv2d;
AvgPool2d -> AvgPool2d; AdaptiveAvgPool2d -> AvgPool2d when the output size divides the
input; MaxPool2d -> SumPool2d + Threshold(0) on request (exact for spikes only);
Flatten -> Flatten with its dims shifted by one (NIR has no batch dim); VotingLayer ->
Linear with a block-mean matrix. Import: the reverse (a block-mean Linear becomes a
VotingLayer again).
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
from torch import nn

from spikelayers_nir.api import ExportContext, ImportContext, array_of, tensor_of

from .conv import Conv1d, Conv2d
from .flatten import Flatten
from .linear import Linear
from .pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .voting import VotingLayer


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _python(value: Any) -> Any:
    """A NIR field (array, scalar or string) as an int, a tuple of ints or the string."""
    if isinstance(value, (str, bytes)):
        return value.decode() if isinstance(value, bytes) else value
    array = np.asarray(value)
    if array.dtype.kind in "SUO":
        return str(array.reshape(-1)[0] if array.ndim else array.item())
    return int(array.item()) if array.ndim == 0 else tuple(int(v) for v in array.reshape(-1))


# -- export ---------------------------------------------------------------------------


def export_linear(layer: Linear, context: ExportContext) -> nir.NIRNode:
    if layer.bias is None:
        return nir.Linear(weight=array_of(layer.weight))
    return nir.Affine(weight=array_of(layer.weight), bias=array_of(layer.bias))


def _conv_checks(layer: nn.modules.conv._ConvNd, context: ExportContext) -> np.ndarray:
    if layer.padding_mode != "zeros":
        raise context.refuse(f"padding_mode={layer.padding_mode!r}; NIR convolutions pad with zeros only")
    if layer.groups != 1:
        raise context.refuse(
            f"groups={layer.groups}; NIR types a convolution's input by weight.shape[1] channels, which is wrong "
            "for grouped convolutions, so readers reject the graph"
        )
    return array_of(layer.weight)


def _conv_bias(layer: nn.modules.conv._ConvNd, weight: np.ndarray) -> np.ndarray:
    return array_of(layer.bias) if layer.bias is not None else np.zeros(weight.shape[0], dtype=weight.dtype)


def export_conv1d(layer: Conv1d, context: ExportContext) -> nir.Conv1d:
    weight = _conv_checks(layer, context)
    padding = layer.padding if isinstance(layer.padding, str) else layer.padding[0]
    return nir.Conv1d(
        input_shape=int(context.input_shape[-1]),
        weight=weight,
        stride=layer.stride[0],
        padding=padding,
        dilation=layer.dilation[0],
        groups=layer.groups,
        bias=_conv_bias(layer, weight),
    )


def conv2d_node(layer: nn.Conv2d, weight: np.ndarray, bias: np.ndarray, context: ExportContext) -> nir.Conv2d:
    """The NIR ``Conv2d`` of a 2-D convolution ``layer`` with the given ``weight`` and ``bias``."""
    return nir.Conv2d(
        input_shape=tuple(int(size) for size in context.input_shape[-2:]),
        weight=weight,
        stride=tuple(layer.stride),
        padding=layer.padding if isinstance(layer.padding, str) else tuple(layer.padding),
        dilation=tuple(layer.dilation),
        groups=layer.groups,
        bias=bias,
    )


def export_conv2d(layer: Conv2d, context: ExportContext) -> nir.Conv2d:
    weight = _conv_checks(layer, context)
    return conv2d_node(layer, weight, _conv_bias(layer, weight), context)


def export_avg_pool_2d(layer: AvgPool2d, context: ExportContext) -> nir.AvgPool2d:
    padding = _pair(layer.padding)
    if layer.ceil_mode:
        raise context.refuse("ceil_mode=True; NIR pooling windows never overhang the input")
    if layer.divisor_override is not None:
        raise context.refuse(f"divisor_override={layer.divisor_override}; NIR averages over the whole window")
    if any(padding) and not layer.count_include_pad:
        raise context.refuse("count_include_pad=False with padding; NIR averages over the whole padded window")
    kernel = _pair(layer.kernel_size)
    stride = kernel if layer.stride is None else _pair(layer.stride)
    return nir.AvgPool2d(kernel_size=np.array(kernel), stride=np.array(stride), padding=np.array(padding))


def export_adaptive_avg_pool_2d(layer: AdaptiveAvgPool2d, context: ExportContext) -> nir.AvgPool2d:
    in_sizes = context.input_shape[-2:]
    wanted = layer.output_size if isinstance(layer.output_size, tuple) else (layer.output_size, layer.output_size)
    out_sizes = tuple(size if want is None else int(want) for size, want in zip(in_sizes, wanted))
    if any(size % out != 0 for size, out in zip(in_sizes, out_sizes)):
        raise context.refuse(
            f"output size {out_sizes} does not divide the input size {tuple(in_sizes)}, so the windows differ in "
            "size and no AvgPool2d matches"
        )
    kernel = np.array([size // out for size, out in zip(in_sizes, out_sizes)])
    return nir.AvgPool2d(kernel_size=kernel, stride=kernel.copy(), padding=np.zeros(2, dtype=np.int64))


def export_max_pool_2d(layer: MaxPool2d, context: ExportContext) -> list[nir.NIRNode]:
    if not context.maxpool_as_sumpool:
        raise context.refuse(
            "NIR has no max pooling; pass maxpool_as_sumpool=True to write SumPool2d + Threshold(0), which equals "
            "max pooling only when the inputs are spikes (0 or 1)"
        )
    if layer.ceil_mode or layer.return_indices or _pair(layer.dilation) != (1, 1):
        raise context.refuse("only MaxPool2d without ceil_mode, return_indices or dilation maps to SumPool2d")
    kernel = _pair(layer.kernel_size)
    stride = kernel if layer.stride is None else _pair(layer.stride)
    return [
        nir.SumPool2d(kernel_size=np.array(kernel), stride=np.array(stride), padding=np.array(_pair(layer.padding))),
        nir.Threshold(threshold=np.zeros(context.output_shape, dtype=np.float64)),
    ]


def export_flatten(layer: Flatten, context: ExportContext) -> nir.Flatten:
    dims = []
    for what, dim in (("start_dim", layer.start_dim), ("end_dim", layer.end_dim)):
        if dim == 0:
            raise context.refuse(f"{what}=0 flattens the batch dim, which NIR does not have")
        dims.append(dim - 1 if dim > 0 else dim)
    return nir.Flatten(input_type={"input": np.array(context.input_shape)}, start_dim=dims[0], end_dim=dims[1])


def voting_matrix(classes: int, voting_size: int) -> np.ndarray:
    """``[classes, classes * voting_size]`` float32: row ``c`` averages inputs ``c*v .. c*v+v-1``."""
    matrix = np.zeros((classes, classes * voting_size), dtype=np.float32)
    for c in range(classes):
        matrix[c, c * voting_size : (c + 1) * voting_size] = np.float32(1.0 / voting_size)
    return matrix


def export_voting(layer: VotingLayer, context: ExportContext) -> nir.Linear:
    features = int(context.input_shape[-1])
    if features % layer.voting_size:
        raise context.refuse(f"its input has {features} features, not a multiple of voting_size={layer.voting_size}")
    return nir.Linear(weight=voting_matrix(features // layer.voting_size, layer.voting_size))


# -- import ---------------------------------------------------------------------------


def import_affine(node: nir.Affine, context: ImportContext) -> Linear:
    weight = np.asarray(node.weight)
    if weight.ndim != 2:
        raise context.refuse(f"weight of shape {weight.shape}; only [out, in] matrices are supported")
    module = Linear(weight.shape[1], weight.shape[0], bias=True, step_mode=context.step_mode)
    module.weight.data = tensor_of(weight)
    module.bias.data = tensor_of(node.bias).reshape(weight.shape[0])
    return module


def _voting_size(weight: np.ndarray) -> int | None:
    classes, features = weight.shape
    if classes == 0 or features % classes or features == classes:
        return None
    size = features // classes
    return size if np.array_equal(weight.astype(np.float32), voting_matrix(classes, size)) else None


def import_linear(node: nir.Linear, context: ImportContext) -> nn.Module:
    weight = np.asarray(node.weight)
    if weight.ndim != 2:
        raise context.refuse(f"weight of shape {weight.shape}; only [out, in] matrices are supported")
    size = _voting_size(weight)
    if size is not None:
        return VotingLayer(size, step_mode=context.step_mode)
    module = Linear(weight.shape[1], weight.shape[0], bias=False, step_mode=context.step_mode)
    module.weight.data = tensor_of(weight)
    return module


def _conv_module(kind: type, node: Any, context: ImportContext, spatial: int) -> nn.Module:
    weight = np.asarray(node.weight)
    if weight.ndim != spatial + 2:
        raise context.refuse(f"weight of shape {weight.shape}; expected {spatial + 2} dims")
    groups = int(_python(node.groups))
    module = kind(
        weight.shape[1] * groups,
        weight.shape[0],
        tuple(weight.shape[2:]),
        stride=_python(node.stride),
        padding=_python(node.padding),
        dilation=_python(node.dilation),
        groups=groups,
        bias=True,
        step_mode=context.step_mode,
    )
    module.weight.data = tensor_of(weight)
    module.bias.data = tensor_of(node.bias).reshape(weight.shape[0])
    return module


def import_conv1d(node: nir.Conv1d, context: ImportContext) -> Conv1d:
    return _conv_module(Conv1d, node, context, 1)


def import_conv2d(node: nir.Conv2d, context: ImportContext) -> Conv2d:
    return _conv_module(Conv2d, node, context, 2)


def import_avg_pool_2d(node: nir.AvgPool2d, context: ImportContext) -> AvgPool2d:
    return AvgPool2d(
        _python(node.kernel_size), _python(node.stride), _python(node.padding), step_mode=context.step_mode
    )


def import_flatten(node: nir.Flatten, context: ImportContext) -> Flatten:
    start, end = (int(dim) + 1 if int(dim) >= 0 else int(dim) for dim in (node.start_dim, node.end_dim))
    return Flatten(start, end, step_mode=context.step_mode)
