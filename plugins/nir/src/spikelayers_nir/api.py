"""What a converter sees: the contexts passed to exporters and importers, and their errors.

A plugin makes its layers exportable by returning, from the ``spikelayers_nir_converters``
hook, ``"module:function"`` strings of functions with these signatures::

    def export_my_layer(layer: MyLayer, context: ExportContext) -> NIRNode | list[NIRNode] | Fold | None
    def import_my_node(node: nir.MyNode, context: ImportContext) -> nn.Module | list[nn.Module] | None

An exporter returns one NIR node, a chain of nodes (a list; empty or ``None`` means the
layer is the identity and is dropped), or a :class:`Fold` (the layer is a per-channel
affine map merged into the node before it). An importer returns one module, a chain of
modules, or ``None`` (identity). Set ``function.match_subclasses = True`` on an exporter
to have it also convert subclasses of its class. Both raise through ``context.refuse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

DEFAULT_DT = 1e-4
"""The default time step in seconds (SpikingJelly's default, stored in the graph's metadata)."""


class NIRExportError(ValueError):
    """A layer cannot be written to NIR; the message names the layer and the reason."""


class NIRImportError(ValueError):
    """A NIR node cannot be read into spikelayers modules; the message names the node and the reason."""


class ConverterDiscoveryError(RuntimeError):
    """Two plugins claim one layer class or one NIR node type."""


@dataclass(frozen=True)
class ExportContext:
    """Where a layer sits in the network being exported.

    Attributes:
        name: the layer's qualified name in the network (``"features.0"``).
        layer_type: the layer's class name, for messages.
        input_shape: one sample's input shape, without time and batch dims (``[C, H, W]``).
        output_shape: one sample's output shape (``None`` when the layer's output is not
            one tensor; the export then fails unless the converter refuses first).
        dt: the time step in seconds.
        exact_threshold: store thresholds so that strict readers (``v > threshold``) fire
            exactly where this library does (``v >= v_threshold``).
        maxpool_as_sumpool: write max pooling as SumPool2d + Threshold (exact for spikes).
    """

    name: str
    layer_type: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None
    dt: float
    exact_threshold: bool = False
    maxpool_as_sumpool: bool = False

    def refuse(self, reason: str) -> NIRExportError:
        """An error naming this layer; ``raise context.refuse("...")``."""
        return NIRExportError(f"cannot export layer {self.name!r} ({self.layer_type}) to NIR: {reason}")


@dataclass(frozen=True)
class ImportContext:
    """Where a node sits in the graph being imported.

    Attributes:
        name: the node's name in the graph.
        node_type: the node's NIR type name.
        dt: the time step in seconds (from the graph's metadata or the caller).
        step_mode: ``'s'`` or ``'m'``, the step mode of the modules to build.
        exact_threshold: read thresholds as strict (``v > threshold``) and build neurons
            that fire exactly then.
    """

    name: str
    node_type: str
    dt: float
    step_mode: str = "s"
    exact_threshold: bool = False

    def refuse(self, reason: str) -> NIRImportError:
        """An error naming this node; ``raise context.refuse("...")``."""
        return NIRImportError(f"cannot import NIR node {self.name!r} ({self.node_type}): {reason}")


@dataclass(frozen=True)
class Fold:
    """A per-channel affine map ``y = x * scale + shift`` (``[C]`` each, float64) to merge
    into the Affine, Linear or Conv node right before the layer (channel = output dim 0)."""

    scale: np.ndarray
    shift: np.ndarray


def float64_full(shape: tuple[int, ...], value: float) -> np.ndarray:
    """An array of ``shape`` filled with ``value`` in float64 (neuron parameters are float64)."""
    return np.full(shape, float(value), dtype=np.float64)


def array_of(tensor: torch.Tensor) -> np.ndarray:
    """A numpy copy of a parameter in its own dtype (weights keep float32 so they round-trip exactly)."""
    return tensor.detach().cpu().numpy().copy()


def tensor_of(array: Any) -> torch.Tensor:
    """A torch tensor in the default dtype that shares no memory with ``array`` (some
    readers hand out torch tensors instead of numpy arrays)."""
    if isinstance(array, torch.Tensor):
        return array.detach().to(device="cpu", dtype=torch.get_default_dtype(), copy=True)
    return torch.tensor(np.array(array, copy=True), dtype=torch.get_default_dtype())


def uniform(array: Any, what: str, context: ImportContext) -> float:
    """The single value of ``array`` (a scalar or an array of equal values), else refuse."""
    values = np.asarray(array, dtype=np.float64)
    if values.size == 0:
        raise context.refuse(f"{what} is empty")
    first = float(values.reshape(-1)[0])
    if not np.all(values == first):
        raise context.refuse(
            f"{what} differs between neurons (from {values.min()} to {values.max()}); "
            "spikelayers neurons share one value per layer"
        )
    return first


def float32_below(value: float) -> float:
    """The largest float32 below ``float32(value)``: ``v > result`` iff ``v >= value`` in float32."""
    return float(np.nextafter(np.float32(value), np.float32(-np.inf)))


def float32_above(value: float) -> float:
    """The smallest float32 above ``float32(value)``: ``v >= result`` iff ``v > value`` in float32."""
    return float(np.nextafter(np.float32(value), np.float32(np.inf)))
