"""``to_nir``: a spikelayers network as a NIR graph.

The network is traced with ``torch.fx`` (every layer with a converter is one call),
run once on the example input to learn each layer's shapes, and each layer is handed to
the converter its plugin contributes. Additions of two branches become two edges into
one node (NIR sums a node's inputs). The network itself is never run or changed: the
tracing and the shape run use a copy.
"""

from __future__ import annotations

import copy
import itertools
import math
import operator
from typing import Any

import nir
import numpy as np
import torch
from nirtorch.torch_tracer import NIRTorchTracer
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from spikelayers.base import MemoryModule
from spikelayers.functional import reset_net

from .api import DEFAULT_DT, ExportContext, Fold, NIRExportError
from .registry import Converters, get_converters

_ADDITIONS = (operator.add, torch.add, operator.iadd)


class _LayerTracer(NIRTorchTracer):
    """Stops at every layer that has a converter (and at every childless module)."""

    def __init__(self, converters: Converters) -> None:
        super().__init__()
        self.converters = converters

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if type(m) is nn.Sequential:
            return False
        if self.converters.exporter_for(type(m)) is not None:
            return True
        return next(m.children(), None) is None


def check_dt(dt: float) -> float:
    """``dt`` as a positive finite float, else ``ValueError``."""
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"NIR: dt must be a positive number of seconds, got {dt!r}")
    return float(dt)


def to_nir(
    net: nn.Module,
    example_input: torch.Tensor,
    dt: float = DEFAULT_DT,
    *,
    exact_threshold: bool = False,
    maxpool_as_sumpool: bool = False,
) -> nir.NIRGraph:
    """Export ``net`` to a NIR graph.

    Args:
        net: a network of spikelayers layers (any mix of step modes is read through
            each layer's ``step_mode``: multi-step layers take ``[T, N, *]``).
        example_input: an input of the network, ``[N, *]`` when it runs single-step,
            ``[T, N, *]`` when it runs multi-step; only its shape matters.
        dt: the time step in seconds, stored in ``graph.metadata["dt"]``; neuron time
            constants are written as ``tau * dt``.
        exact_threshold: write each threshold as the float32 just below it, so readers
            that fire on ``v > threshold`` fire exactly where spikelayers fires on
            ``v >= v_threshold``. Off by default (the value is written as is, as
            SpikingJelly does); then the two differ only when ``v`` equals the threshold.
        maxpool_as_sumpool: write MaxPool2d as SumPool2d followed by a Threshold at 0,
            which equals max pooling for spikes (inputs in {0, 1}) only.

    Returns:
        the :class:`nir.NIRGraph`; ``nir.write(path, graph)`` saves it.

    Raises:
        NIRExportError: naming the first layer that cannot be represented and why.
    """
    dt = check_dt(dt)
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(f"to_nir: example_input must be a tensor, got {type(example_input).__name__}")
    converters = get_converters()
    work = _copy_without_history(net)
    if _is_leaf(work, converters):
        work = nn.Sequential(work)
    reset_net(work)
    multi_step = any(getattr(module, "step_mode", None) == "m" for module in work.modules())
    leading_dims = 2 if multi_step else 1
    traced = _trace(work, converters)
    try:
        with torch.no_grad():
            ShapeProp(traced).propagate(example_input.detach().clone())
    except NIRExportError:
        raise
    except Exception as error:
        raise NIRExportError(
            f"cannot export {type(net).__name__} to NIR: running the example input of shape "
            f"{tuple(example_input.shape)} through it failed: {type(error).__name__}: {error}"
        ) from error
    options = {"dt": dt, "exact_threshold": exact_threshold, "maxpool_as_sumpool": maxpool_as_sumpool}
    builder = _GraphBuilder(traced, converters, leading_dims, options)
    return builder.build()


def _copy_without_history(net: nn.Module) -> nn.Module:
    """A deep copy of ``net`` whose memories (potentials kept from a forward with
    gradients, which ``deepcopy`` refuses) are detached copies; ``net`` is untouched."""
    memo: dict[int, Any] = {}
    for module in net.modules():
        if isinstance(module, MemoryModule):
            for value in module.memories():
                if isinstance(value, torch.Tensor) and not value.is_leaf:
                    memo[id(value)] = value.detach().clone()
    return copy.deepcopy(net, memo)


def _is_leaf(module: nn.Module, converters: Converters) -> bool:
    return converters.exporter_for(type(module)) is not None or next(module.children(), None) is None


def _trace(work: nn.Module, converters: Converters) -> fx.GraphModule:
    tracer = _LayerTracer(converters)
    try:
        graph = tracer.trace(work)
    except Exception as error:
        raise NIRExportError(
            f"cannot export {type(work).__name__} to NIR: its forward cannot be traced into layers "
            f"({type(error).__name__}: {error}); a container must call its layers without Python control "
            "flow on tensors, and every layer needs a converter"
        ) from error
    return fx.GraphModule(work, graph)


class _GraphBuilder:
    """Walks the traced graph once, turning each layer call into NIR nodes and edges."""

    def __init__(self, traced: fx.GraphModule, converters: Converters, leading_dims: int, options: dict) -> None:
        self.traced = traced
        self.converters = converters
        self.leading_dims = leading_dims
        self.options = options
        self.nodes: dict[str, nir.NIRNode] = {}
        self.edges: list[tuple[str, str]] = []
        self.sources: dict[fx.Node, list[str]] = {}

    def shape(self, node: fx.Node, who: str) -> tuple[int, ...]:
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            raise NIRExportError(f"cannot export {who} to NIR: its input or output is not a single tensor")
        return tuple(int(size) for size in meta.shape)[self.leading_dims :]

    def build(self) -> nir.NIRGraph:
        placeholders = [node for node in self.traced.graph.nodes if node.op == "placeholder"]
        if len(placeholders) != 1:
            raise NIRExportError(f"cannot export to NIR: the network must take one input, it takes {len(placeholders)}")
        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                self.nodes["input"] = nir.Input(input_type=np.array(self.shape(node, "the input")))
                self.sources[node] = ["input"]
            elif node.op == "call_module":
                self.add_layer(node)
            elif node.op in ("call_function", "call_method") and self.is_addition(node):
                self.add_sum(node)
            elif node.op == "output":
                self.add_outputs(node)
            else:
                raise NIRExportError(
                    f"cannot export operation {node.name!r} ({node.op} {getattr(node.target, '__name__', node.target)}) "
                    "to NIR: between layers only the addition of two branches can be represented"
                )
        return nir.NIRGraph(
            nodes=self.nodes,
            edges=self.edges,
            metadata={"dt": self.options["dt"], "source": "spikelayers"},
            type_check=False,
        )

    @staticmethod
    def is_addition(node: fx.Node) -> bool:
        if node.kwargs or len(node.args) != 2 or not all(isinstance(arg, fx.Node) for arg in node.args):
            return False
        return node.target in _ADDITIONS or (node.op == "call_method" and node.target in ("add", "__add__"))

    def add_sum(self, node: fx.Node) -> None:
        left, right = (self.sources[arg] for arg in node.args)
        if set(left) & set(right):
            raise NIRExportError(
                f"cannot export the addition {node.name!r} to NIR: both operands come from "
                f"{sorted(set(left) & set(right))}, and NIR sums each edge once"
            )
        self.sources[node] = left + right

    def add_outputs(self, node: fx.Node) -> None:
        result = node.args[0]
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        for index, value in enumerate(results):
            if not isinstance(value, fx.Node):
                raise NIRExportError(f"cannot export to NIR: output {index} of the network is not a tensor")
            name = "output" if len(results) == 1 else f"output.{index}"
            self.nodes[name] = nir.Output(output_type=np.array(self.shape(value, "the output")))
            self.edges.extend((source, name) for source in self.sources[value])

    def add_layer(self, node: fx.Node) -> None:
        layer = self.traced.get_submodule(node.target)
        name = str(node.target)
        label = f"layer {name!r} ({type(layer).__name__})"
        if node.kwargs or len(node.args) != 1 or not isinstance(node.args[0], fx.Node):
            raise NIRExportError(f"cannot export {label} to NIR: it must be called with one tensor")
        found = self.converters.exporter_for(type(layer))
        if found is None:
            raise NIRExportError(f"cannot export {label} to NIR: {self.missing_converter_reason(type(layer))}")
        exporter, claim = found
        output_shape = self.shape(node, label) if _is_tensor(node) else None
        context = ExportContext(
            name=name,
            layer_type=type(layer).__name__,
            input_shape=self.shape(node.args[0], label),
            output_shape=output_shape,
            **self.options,
        )
        try:
            result = exporter(layer, context)
        except NIRExportError:
            raise
        except Exception as error:
            if output_shape is not None:
                raise NIRExportError(
                    f"cannot export {label} to NIR: its converter {claim.target} (plugin {claim.plugin!r}) failed: "
                    f"{type(error).__name__}: {error}"
                ) from error
            result = None
        if output_shape is None:  # the converter accepted a layer whose output is not one tensor
            raise NIRExportError(f"cannot export {label} to NIR: its output is not a single tensor")
        upstream = node.args[0]
        if isinstance(result, Fold):
            self.sources[node] = [self.fold(result, upstream, context)]
            return
        chain = [] if result is None else list(result) if isinstance(result, (list, tuple)) else [result]
        if not chain:
            self.sources[node] = self.sources[upstream]
            return
        names = [name] if len(chain) == 1 else [f"{name}.{index}" for index in range(len(chain))]
        for node_name, nir_node in zip(names, chain):
            if node_name in self.nodes:
                raise NIRExportError(f"cannot export {label} to NIR: the node name {node_name!r} is taken")
            self.nodes[node_name] = nir_node
        self.edges.extend((source, names[0]) for source in self.sources[upstream])
        self.edges.extend(itertools.pairwise(names))
        self.sources[node] = [names[-1]]

    def missing_converter_reason(self, cls: type) -> str:
        reason = (
            f"no installed plugin has a NIR converter for {cls.__module__}.{cls.__qualname__} "
            "(a plugin adds one through the spikelayers_nir_converters hook)"
        )
        if self.converters.errors:
            broken = "; ".join(f"{plugin}: {error}" for plugin, error in sorted(self.converters.errors.items()))
            reason += f"; the converters of these plugins failed to load: {broken}"
        return reason

    def fold(self, fold: Fold, upstream: fx.Node, context: ExportContext) -> str:
        sources = self.sources[upstream]
        target = self.nodes.get(sources[0]) if len(sources) == 1 else None
        if upstream.op != "call_module" or len(upstream.users) != 1 or not isinstance(target, _FOLDABLE):
            raise context.refuse(
                "it can only be folded into a Linear or Conv layer right before it whose output feeds nothing else"
            )
        self.nodes[sources[0]] = fold_into(target, fold, context)
        return sources[0]


def _is_tensor(node: fx.Node) -> bool:
    return hasattr(node.meta.get("tensor_meta"), "shape")


_FOLDABLE = (nir.Affine, nir.Linear, nir.Conv1d, nir.Conv2d)


def fold_into(target: nir.NIRNode, fold: Fold, context: ExportContext) -> nir.NIRNode:
    """``target`` followed by ``y = x * scale + shift`` per output channel, as one node (float64 maths)."""
    weight = np.asarray(target.weight)
    scale = np.asarray(fold.scale, dtype=np.float64)
    shift = np.asarray(fold.shift, dtype=np.float64)
    if scale.shape != (weight.shape[0],) or shift.shape != scale.shape:
        raise context.refuse(
            f"its {scale.shape[0] if scale.ndim else 1} channels do not match the {weight.shape[0]} outputs "
            "of the layer before it"
        )
    broadcast = scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    new_weight = (weight.astype(np.float64) * broadcast).astype(weight.dtype)
    bias = getattr(target, "bias", None)
    old_bias = np.zeros(weight.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    new_bias = (old_bias * scale + shift).astype(weight.dtype)
    if isinstance(target, (nir.Affine, nir.Linear)):
        return nir.Affine(weight=new_weight, bias=new_bias)
    kind = type(target)
    return kind(
        input_shape=target.input_shape,
        weight=new_weight,
        stride=target.stride,
        padding=target.padding,
        dilation=target.dilation,
        groups=target.groups,
        bias=new_bias,
    )
