"""The converters every installed plugin contributes through ``spikelayers_nir_converters``.

Each plugin's answer is collected on its own: a plugin whose hook raises or returns
something malformed is recorded in :attr:`Converters.errors` and leaves the others
usable, so a broken plugin only makes its own layers unexportable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spikelayers.plugins import get_registry, hook_results, load_target

from .api import ConverterDiscoveryError, NIRExportError, NIRImportError

HOOK = "spikelayers_nir_converters"
KINDS = ("exporters", "importers")


@dataclass(frozen=True)
class Claim:
    """One converter: the plugin that contributes it and its ``"module:attribute"``."""

    plugin: str
    target: str


@dataclass
class Converters:
    """Every exporter (by ``"module:Class"``) and importer (by NIR node type), with their plugins."""

    exporters: dict[str, Claim] = field(default_factory=dict)
    importers: dict[str, Claim] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _classes: dict[type, Claim] | None = None
    _loaded: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def exporter_classes(self) -> dict[type, Claim]:
        """Layer class -> claim, importing each claimed class once (a class that fails to
        import is recorded under its plugin in :attr:`errors`)."""
        if self._classes is None:
            classes: dict[type, Claim] = {}
            for class_target, claim in self.exporters.items():
                try:
                    cls = load_target(class_target)
                except Exception as error:  # a broken plugin must not break the others
                    self.errors.setdefault(claim.plugin, f"{class_target}: {type(error).__name__}: {error}")
                    continue
                other = classes.get(cls)
                if other is not None and other.plugin != claim.plugin:
                    raise ConverterDiscoveryError(_conflict(f"layer class {class_target}", other.plugin, claim.plugin))
                classes[cls] = claim
            self._classes = classes
        return self._classes

    def exporter_for(self, cls: type) -> tuple[Callable[..., Any], Claim] | None:
        """The exporter of ``cls``: its own, else the nearest base's if that one opts in to subclasses."""
        classes = self.exporter_classes()
        for position, base in enumerate(cls.__mro__):
            claim = classes.get(base)
            if claim is None:
                continue
            function = self.load(claim, NIRExportError)
            if position == 0 or getattr(function, "match_subclasses", False):
                return function, claim
        return None

    def importer_for(self, node_type: str) -> tuple[Callable[..., Any], Claim] | None:
        claim = self.importers.get(node_type)
        return None if claim is None else (self.load(claim, NIRImportError), claim)

    def load(self, claim: Claim, error_type: type[Exception]) -> Callable[..., Any]:
        function = self._loaded.get(claim.target)
        if function is None:
            try:
                function = load_target(claim.target)
            except Exception as error:
                raise error_type(
                    f"the converter {claim.target} of plugin {claim.plugin!r} cannot be loaded: "
                    f"{type(error).__name__}: {error}"
                ) from error
            self._loaded[claim.target] = function
        return function


def _conflict(what: str, first: str, second: str) -> str:
    return (
        f"{what} has NIR converters in two plugins: {first!r} and {second!r}; uninstall one of them "
        "or restrict loading with SPIKELAYERS_PLUGINS"
    )


def collect_converters() -> Converters:
    """Ask every plugin for its converters, one plugin at a time.

    Raises :class:`ConverterDiscoveryError` when two plugins claim one layer class or one
    NIR node type; a plugin whose hook fails is recorded in ``errors`` instead.
    """
    converters = Converters()
    registry = get_registry()
    answers = hook_results(HOOK, registry=registry)  # one plugin at a time; failures recorded per plugin
    for plugin, problems in registry.problems().items():
        for problem in problems:
            if problem.hook == HOOK:
                error = problem.error
                converters.errors[plugin] = problem.message if error is None else f"{type(error).__name__}: {error}"
    for info, answer in answers:
        plugin = info.name
        try:
            tables = {kind: dict(answer.get(kind, {})) for kind in KINDS}
            unknown = set(answer) - set(KINDS)
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}; expected {list(KINDS)}")
            for kind, table in tables.items():
                for key, target in table.items():
                    if not (isinstance(key, str) and isinstance(target, str) and ":" in target):
                        raise ValueError(f"{kind} entry {key!r}: {target!r} is not a 'module:attribute' string")
        except Exception as error:  # a broken plugin must not break the others
            converters.errors[plugin] = f"{type(error).__name__}: {error}"
            continue
        for kind, table in tables.items():
            claims: dict[str, Claim] = getattr(converters, kind)
            for key, target in table.items():
                other = claims.get(key)
                if other is not None:
                    what = f"layer class {key}" if kind == "exporters" else f"NIR node type {key}"
                    raise ConverterDiscoveryError(_conflict(what, other.plugin, plugin))
                claims[key] = Claim(plugin, target)
    return converters


_lock = threading.Lock()
_cached: tuple[object, Converters] | None = None


def get_converters() -> Converters:
    """The converters of the current plugin set (collected again after ``spikelayers.plugins.reload``)."""
    global _cached
    registry = get_registry()
    with _lock:
        if _cached is None or _cached[0] is not registry:
            _cached = (registry, collect_converters())
        return _cached[1]
