"""Plugin discovery: one pluggy PluginManager over the entry-point group ``spikelayers``.

Built-in features register through the same hooks as third-party plugins (see
:data:`DEFAULT_PLUGINS`). Set ``SPIKELAYERS_PLUGINS`` to a comma-separated list of
plugin names to load only those (the built-ins always load), or to ``none`` to load no
third-party plugin; useful when a broken plugin needs to be ruled out.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType

import pluggy

from . import hookspecs
from .errors import PluginConflictError

ENTRY_POINT_GROUP = "spikelayers"
ONLY_ENV = "SPIKELAYERS_PLUGINS"
DEFAULT_PLUGINS: dict[str, str] = {"core": "spikelayers.core_plugin"}
"""Built-in plugins: name -> module. They ship in ``spikelayers-core``."""
NAMESPACES: tuple[str, ...] = ("layer", "neuron", "surrogate")


@dataclass
class PluginInfo:
    """What one loaded plugin is and what it provides."""

    name: str
    module: ModuleType
    distribution: str | None = None
    version: str | None = None
    provides: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Registry:
    """Every name provided by the loaded plugins, with the plugin that provides it."""

    plugins: dict[str, PluginInfo]
    targets: dict[str, dict[str, str]]
    owners: dict[str, dict[str, str]]


_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
_registry: Registry | None = None
_extra_plugins: list[tuple[str, ModuleType]] = []


def _allowed_names() -> set[str] | None:
    raw = os.environ.get(ONLY_ENV)
    if raw is None:
        return None
    names = {part.strip() for part in raw.split(",") if part.strip()}
    return set() if names == {"none"} else names


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide PluginManager, loading plugins on first call."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = _build_manager()
        return _manager


def _build_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name, module_name in DEFAULT_PLUGINS.items():
        manager.register(importlib.import_module(module_name), name=name)
    allowed = _allowed_names()
    if allowed is None:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    else:
        for name in sorted(allowed):
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
    for name, module in _extra_plugins:
        if not manager.has_plugin(name):
            manager.register(module, name=name)
    manager.check_pending()
    return manager


def register_plugin(module: ModuleType, name: str | None = None) -> None:
    """Register a plugin module by hand (for tests and notebooks), then rediscover."""
    with _lock:
        _extra_plugins.append((name or module.__name__, module))
        reload()


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin`."""
    with _lock:
        _extra_plugins[:] = [(n, m) for n, m in _extra_plugins if n != name]
        reload()


def reload() -> None:
    """Forget every loaded plugin; the next lookup discovers them again."""
    global _manager, _registry
    with _lock:
        _manager = None
        _registry = None
        from . import functional, kernels

        kernels._reset_cache()
        functional._reset_handler_cache()


def _distributions(manager: pluggy.PluginManager) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for plugin, dist in manager.list_plugin_distinfo():
        found[id(plugin)] = (dist.project_name, dist.version)
    return found


def _distribution_of_module(module: ModuleType) -> tuple[str | None, str | None]:
    if module.__name__ in DEFAULT_PLUGINS.values():
        from . import __version__

        return "spikelayers-core", __version__
    top = module.__name__.split(".")[0]
    for dist_name in metadata.packages_distributions().get(top, []):
        try:
            return dist_name, metadata.version(dist_name)
        except metadata.PackageNotFoundError:
            continue
    return None, None


def get_registry() -> Registry:
    """Discover plugins (once) and index the names they provide.

    Raises :class:`PluginConflictError` when two plugins provide one name.
    """
    global _registry
    with _lock:
        if _registry is not None:
            return _registry
        manager = get_plugin_manager()
        plugins: dict[str, PluginInfo] = {}
        targets: dict[str, dict[str, str]] = {ns: {} for ns in NAMESPACES}
        owners: dict[str, dict[str, str]] = {ns: {} for ns in NAMESPACES}
        dists = _distributions(manager)
        for plugin_name, module in manager.list_name_plugin():
            distribution, version = dists.get(id(module)) or _distribution_of_module(module)
            plugins[plugin_name] = PluginInfo(plugin_name, module, distribution, version)
        for impl in manager.hook.spikelayers_provides.get_hookimpls():
            plugin_name = impl.plugin_name
            provides = impl.function() or {}
            plugins[plugin_name].provides = provides
            for namespace, names in provides.items():
                if namespace not in targets:
                    raise PluginConflictError(
                        f"plugin {plugin_name!r} provides the unknown namespace {namespace!r}; "
                        f"namespaces are {NAMESPACES}"
                    )
                for public_name, target in names.items():
                    other = owners[namespace].get(public_name)
                    if other is not None:
                        raise PluginConflictError(
                            f"spikelayers.{namespace}.{public_name} is provided by two plugins: "
                            f"{other!r} and {plugin_name!r}; uninstall one of them or restrict "
                            f"loading with {ONLY_ENV}"
                        )
                    owners[namespace][public_name] = plugin_name
                    targets[namespace][public_name] = target
        _registry = Registry(plugins, targets, owners)
        return _registry


def load_target(target: str) -> object:
    """Import ``"module.path:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    obj: object = module
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj
