"""``from_nir``: a NIR graph as spikelayers modules.

A chain (one input, one output, every node feeding the next) becomes an
``nn.Sequential``; any other graph a :class:`~spikelayers_nir.executor.GraphExecutor`.
The graph is only read: converters copy every array they use.
"""

from __future__ import annotations

import os
from collections import deque

import nir
from torch import nn

from spikelayers.functional import set_step_mode

from .api import DEFAULT_DT, ImportContext, NIRImportError
from .executor import GraphExecutor
from .export import check_dt
from .registry import get_converters


def read_graph(graph_or_path: nir.NIRGraph | str | os.PathLike) -> nir.NIRGraph:
    """A graph object as is, or the graph stored in a ``.nir`` file."""
    if isinstance(graph_or_path, nir.NIRGraph):
        return graph_or_path
    if isinstance(graph_or_path, (str, os.PathLike)):
        graph = nir.read(graph_or_path)
        if not isinstance(graph, nir.NIRGraph):
            raise NIRImportError(f"{os.fspath(graph_or_path)!r} holds a {type(graph).__name__}, not a NIR graph")
        return graph
    raise TypeError(f"from_nir expects a nir.NIRGraph or a path, got {type(graph_or_path).__name__}")


def graph_dt(graph: nir.NIRGraph, dt: float | None) -> float:
    """``dt`` if given, else the graph's ``metadata["dt"]``, else :data:`DEFAULT_DT`."""
    if dt is not None:
        return check_dt(dt)
    metadata = graph.metadata if isinstance(graph.metadata, dict) else {}
    stored = metadata.get("dt")
    if stored is None:
        return DEFAULT_DT
    try:
        return check_dt(float(stored))
    except (TypeError, ValueError) as error:
        raise NIRImportError(f"the graph's metadata has dt={stored!r}, not a positive number of seconds") from error


def from_nir(
    graph_or_path: nir.NIRGraph | str | os.PathLike,
    dt: float | None = None,
    *,
    step_mode: str = "s",
    exact_threshold: bool = False,
) -> nn.Module:
    """Build spikelayers modules from a NIR graph.

    Args:
        graph_or_path: a :class:`nir.NIRGraph` or the path of a ``.nir`` file.
        dt: the time step in seconds; ``None`` takes the graph's ``metadata["dt"]``
            (written by spikelayers and SpikingJelly), else 1e-4.
        step_mode: the step mode of every module built, ``'s'`` or ``'m'``.
        exact_threshold: build neurons that fire on ``v > threshold`` exactly, as NIR
            defines it (the threshold is moved to the next float32); by default the
            threshold is taken as is and neurons fire on ``v >= v_threshold``.

    Returns:
        an ``nn.Sequential`` for a chain, else a
        :class:`~spikelayers_nir.executor.GraphExecutor`.

    Raises:
        NIRImportError: naming the first node that cannot be represented and why.
    """
    if step_mode not in ("s", "m"):
        raise ValueError(f"from_nir: step_mode must be 's' or 'm', got {step_mode!r}")
    graph = read_graph(graph_or_path)
    dt = graph_dt(graph, dt)
    converters = get_converters()
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    outputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Output)]
    if len(inputs) != 1:
        raise NIRImportError(f"the graph must have one Input node, it has {len(inputs)}: {inputs}")
    if not outputs:
        raise NIRImportError("the graph has no Output node")
    feeds = _feeds(graph)
    order = _topological_order(graph, feeds)
    modules: dict[str, nn.Module] = {}
    for name in order:
        node = graph.nodes[name]
        if isinstance(node, (nir.Input, nir.Output)):
            continue
        node_type = type(node).__name__
        context = ImportContext(
            name=name, node_type=node_type, dt=dt, step_mode=step_mode, exact_threshold=exact_threshold
        )
        found = converters.importer_for(node_type)
        if found is None:
            raise context.refuse(
                "no installed plugin has an importer for this node type "
                "(a plugin adds one through the spikelayers_nir_converters hook)"
            )
        importer, claim = found
        try:
            result = importer(node, context)
        except NIRImportError:
            raise
        except Exception as error:
            raise context.refuse(
                f"its importer {claim.target} (plugin {claim.plugin!r}) failed: {type(error).__name__}: {error}"
            ) from error
        modules[name] = _as_module(result)
    model = _assemble(graph, order, feeds, modules, inputs[0], outputs, step_mode)
    set_step_mode(model, step_mode)
    return model


def _as_module(result: nn.Module | list[nn.Module] | None) -> nn.Module:
    if result is None:
        return nn.Identity()
    if isinstance(result, nn.Module):
        return result
    chain = list(result)
    if not chain:
        return nn.Identity()
    return chain[0] if len(chain) == 1 else nn.Sequential(*chain)


def _feeds(graph: nir.NIRGraph) -> dict[str, list[str]]:
    feeds: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for source, target in graph.edges:
        for end in (source, target):
            if end not in graph.nodes:
                raise NIRImportError(f"the edge ({source!r}, {target!r}) names the missing node {end!r}")
        feeds[target].append(source)
    return feeds


def _topological_order(graph: nir.NIRGraph, feeds: dict[str, list[str]]) -> list[str]:
    waiting = {name: len(sources) for name, sources in feeds.items()}
    users: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for target, sources in feeds.items():
        for source in sources:
            users[source].append(target)
    ready = deque(name for name in graph.nodes if waiting[name] == 0)
    order: list[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if len(order) != len(graph.nodes):
        cyclic = sorted(name for name, count in waiting.items() if count > 0)
        raise NIRImportError(f"the graph has a cycle through {cyclic}; recurrent NIR graphs are not supported")
    return order


def _assemble(
    graph: nir.NIRGraph,
    order: list[str],
    feeds: dict[str, list[str]],
    modules: dict[str, nn.Module],
    input_name: str,
    outputs: list[str],
    step_mode: str,
) -> nn.Module:
    chain = _chain(graph, order, feeds, input_name, outputs)
    if chain is not None:
        layers: list[nn.Module] = []
        for name in chain:
            module = modules[name]
            if isinstance(module, nn.Identity):
                continue
            layers.extend(module if type(module) is nn.Sequential else [module])
        return nn.Sequential(*layers)
    keys = {name: _key(name, index) for index, name in enumerate(order)}
    keys[input_name] = "input"
    body = [name for name in order if name in modules]
    for name in body + outputs:
        if not feeds[name]:
            raise NIRImportError(f"the node {name!r} has no input edge")
    return GraphExecutor(
        layers={keys[name]: modules[name] for name in body},
        order=[keys[name] for name in body],
        inputs={keys[name]: [keys[source] for source in feeds[name]] for name in body + outputs},
        outputs=[keys[name] for name in outputs],
        step_mode=step_mode,
    )


def _key(name: str, index: int) -> str:
    cleaned = "".join(character if character.isalnum() or character == "_" else "_" for character in name)
    return f"n{index}_{cleaned}"


def _chain(
    graph: nir.NIRGraph, order: list[str], feeds: dict[str, list[str]], input_name: str, outputs: list[str]
) -> list[str] | None:
    if len(outputs) != 1:
        return None
    users: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for target, sources in feeds.items():
        for source in sources:
            users[source].append(target)
    chain: list[str] = []
    current = input_name
    while current != outputs[0]:
        if len(users[current]) != 1:
            return None
        current = users[current][0]
        if len(feeds[current]) != 1:
            return None
        if current != outputs[0]:
            chain.append(current)
    return chain if len(chain) + 2 == len(graph.nodes) else None
