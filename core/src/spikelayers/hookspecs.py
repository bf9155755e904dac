"""Every hook a spikelayers plugin can implement.

A plugin is a plain module of functions decorated with :data:`hookimpl`, named in its
distribution's ``pyproject.toml`` under the entry-point group ``spikelayers``::

    [project.entry-points.spikelayers]
    myplugin = "my_package.plugin"

The core registers its own containers through these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import argparse

    from .benchmarks import BenchCase
    from .handlers import StatefulHandler
    from .kernels import KernelSpec
    from .testing import LayerCase

PROJECT = "spikelayers"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def spikelayers_provides() -> dict[str, dict[str, str]]:
    """Name the classes this plugin contributes, per namespace.

    Called once per plugin snapshot, at discovery, when a namespace
    (``spikelayers.layer``, ``spikelayers.neuron``, ``spikelayers.surrogate``) is first
    used or the ``plugins`` command runs. Return a mapping ``{namespace: {public name:
    "module.path:attribute"}}``; the module is imported only when the name is first
    looked up, so keep the plugin module light. A plugin whose answer is malformed is
    marked broken, and one that returns a name another plugin also returns is marked
    conflicting; either way only its own names fail.
    """


@hookspec
def spikelayers_kernels() -> list[KernelSpec]:
    """Contribute kernel implementations.

    Called once per plugin snapshot, when the kernel registry is first used. Return a
    list of :class:`spikelayers.kernels.KernelSpec`, each naming an op (e.g.
    ``"neuron.multi_step"`` or ``"synapse.filter"``), a backend (``"torch"`` or
    ``"triton"``), the ``"module:attribute"`` of its implementation (imported on first
    use) and optionally a ``supports`` function giving the reason it cannot take a call
    with given settings. A list with an invalid entry, or an op/backend that another
    plugin already provides, is reported by ``spikelayers plugins`` and not used.
    """


@hookspec
def spikelayers_stateful_handlers() -> list[StatefulHandler]:
    """Teach :func:`spikelayers.functional.reset_net` and ``detach_net`` foreign modules.

    Called once per plugin snapshot, on the first ``reset_net``/``detach_net``. Return a
    list of :class:`spikelayers.handlers.StatefulHandler`, each matching module types that
    keep state but are not :class:`spikelayers.base.MemoryModule` (for example another
    library's neurons) and saying how to reset and detach them.
    """


@hookspec
def spikelayers_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add subcommands to the ``spikelayers`` command line.

    Called each time the command line starts, with the ``argparse`` sub-parser
    collection. Add a parser with ``subparsers.add_parser(name, help=...)`` and set its
    handler with ``parser.set_defaults(handler=function)``; the handler receives the
    parsed ``argparse.Namespace`` and returns an exit code (``None`` means 0).
    """


@hookspec
def spikelayers_bench_cases() -> list[BenchCase]:
    """Contribute benchmark cases for the layers of this plugin.

    Called by the benchmark runner (``spikelayers bench`` / ``nox -s bench``). Return a
    list of :class:`spikelayers.benchmarks.BenchCase`; import heavy modules inside the
    cases' factories, not at plugin import.
    """


@hookspec
def spikelayers_conformance_cases() -> list[LayerCase]:
    """Contribute the layer configurations that the conformance kit checks.

    Called by test suites that check every installed layer at once (``torch.compile``,
    autocast, unusual inputs, distributed training). Return a list of
    :class:`spikelayers.testing.LayerCase`; build layers inside the cases' factories.
    """


@hookspec
def spikelayers_nir_converters() -> dict[str, dict[str, str]]:
    """Make this plugin's layers exportable to, and importable from, NIR.

    Called by ``spikelayers-nir`` (``to_nir``, ``from_nir``, ``spikelayers nir``) the
    first time it needs the converters; never at plugin import. Return
    ``{"exporters": {"module.path:LayerClass": "module.path:function"},
    "importers": {"NIRNodeType": "module.path:function"}}``, every value a lazy
    ``"module:attribute"`` string imported only when a network uses it. An exporter is
    called as ``function(layer, context)`` and returns NIR nodes; an importer as
    ``function(node, context)`` and returns modules (the signatures are documented in
    ``spikelayers_nir.api``). Exporters match the exact class unless the function sets
    ``match_subclasses = True``. Two plugins claiming one class or one node type is a
    discovery error naming both.
    """
