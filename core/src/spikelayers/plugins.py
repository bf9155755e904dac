"""Plugin discovery: the registry of installed plugins and what each provides.

Plugins are modules named under the entry-point group ``spikelayers`` (see
:mod:`spikelayers.hookspecs`); the core's own containers register through the same
hooks (:data:`DEFAULT_PLUGINS`). Discovery loads each plugin on its own: a plugin whose
entry point fails to import, whose hook raises, whose ``spikelayers_provides`` answer is
malformed, or which provides a name that another plugin also provides, is marked
``broken`` or ``conflicting`` with the reason, and only its own names fail.

The result is one immutable :class:`Registry` snapshot. :func:`reload`,
:func:`register_plugin` and :func:`unregister_plugin` make the next lookup build a new
snapshot, which replaces the old one in a single assignment; readers never take a lock
and never see a half-built registry. Other modules keep what they derive from the
plugins (kernel tables, stateful handlers) in :meth:`Registry.cached`, so it goes away
with the snapshot.

``SPIKELAYERS_PLUGINS`` selects the third-party plugins: a comma-separated allow-list
(``neuron,norm``), a deny-list (``-badplugin``), or ``none``. The built-in plugins
(the core's containers and commands) always load.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .catalog import distribution_for
from .targets import is_target
from .targets import load_target as load_target  # re-exported: its home is spikelayers.targets

ENTRY_POINT_GROUP = "spikelayers"
SELECT_ENV = "SPIKELAYERS_PLUGINS"
ONLY_ENV = SELECT_ENV
"""Former name of :data:`SELECT_ENV`."""
DEFAULT_PLUGINS: dict[str, str] = {"core": "spikelayers.core_plugin"}
"""Built-in plugins: name -> module. They ship in ``spikelayers-core`` and always load."""
NAMESPACES: tuple[str, ...] = ("layer", "neuron", "surrogate")

OK = "ok"
BROKEN = "broken"
CONFLICTING = "conflicting"
FILTERED = "filtered"
STATUSES: tuple[str, ...] = (OK, BROKEN, CONFLICTING, FILTERED)

T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    """One installed plugin: where it comes from, whether it loaded, what it provides.

    ``status`` is ``'ok'``, ``'broken'`` (failed to load or to answer
    ``spikelayers_provides``; ``reason`` and ``error`` say how), ``'conflicting'``
    (provides a name that another plugin provides) or ``'filtered'`` (excluded by
    ``SPIKELAYERS_PLUGINS``; never imported).
    """

    name: str
    status: str = OK
    distribution: str | None = None
    version: str | None = None
    module: object | None = None
    provides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    hooks: tuple[str, ...] = ()
    reason: str | None = None
    error: BaseException | None = None
    entry_point: str | None = None
    builtin: bool = False

    @property
    def healthy(self) -> bool:
        return self.status == OK

    @property
    def label(self) -> str:
        """``plugin 'x' (distribution 'd' 1.0)``, for messages."""
        if self.distribution is None:
            return f"plugin {self.name!r} (not from an installed distribution)"
        return f"plugin {self.name!r} (distribution {self.distribution!r} {self.version or '?'})"

    @property
    def exclude_hint(self) -> str:
        """How to run without this plugin."""
        if self.builtin:
            return "it is built into spikelayers-core and cannot be excluded"
        uninstall = f"uninstall {self.distribution!r}" if self.distribution else "unregister it"
        return f"exclude it with {SELECT_ENV}=-{self.name} or {uninstall}"

    @property
    def commands_only(self) -> bool:
        """Whether the plugin only adds commands to the ``spikelayers`` command line."""
        return self.hooks == ("spikelayers_add_commands",)


@dataclass(frozen=True)
class Selection:
    """The plugins that ``SPIKELAYERS_PLUGINS`` lets load.

    ``allow`` is ``None`` when every plugin may load; ``deny`` names excluded plugins.
    """

    raw: str | None = None
    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    def admits(self, name: str) -> bool:
        return (self.allow is None or name in self.allow) and name not in self.deny

    def describe(self) -> str:
        return f"{SELECT_ENV}={self.raw!r}"


def parse_selection(raw: str | None) -> Selection:
    """Read ``SPIKELAYERS_PLUGINS``: ``a,b`` allows only a and b, ``-c`` excludes c,
    ``none`` allows no third-party plugin; unset or empty allows all."""
    if raw is None or not raw.strip():
        return Selection(raw)
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    deny = frozenset(part[1:].strip() for part in parts if part.startswith("-"))
    allowed = [part for part in parts if not part.startswith("-")]
    if allowed == ["none"] or "none" in allowed:
        return Selection(raw, frozenset(), deny)
    return Selection(raw, frozenset(allowed) if allowed else None, deny)


@dataclass(frozen=True)
class HookProblem:
    """A hook of a loaded plugin that raised or answered wrongly after discovery."""

    hook: str
    message: str
    error: BaseException | None = None


@dataclass(frozen=True, eq=False)
class Registry:
    """An immutable snapshot of the installed plugins and the names they provide.

    Attributes:
        plugins: every plugin by name (sorted), whatever its status.
        targets: ``{namespace: {name: "module:attribute"}}`` of the healthy plugins.
        owners: ``{namespace: {name: plugin}}`` of the healthy plugins.
        claimed: ``{namespace: {name: (plugin, ...)}}``: names of broken or conflicting
            plugins, which are not given out.
        selection: what ``SPIKELAYERS_PLUGINS`` allowed.
        unmatched: names in the allow-list or deny-list of no installed plugin.
        manager: a pluggy ``PluginManager`` holding the healthy plugins only.
    """

    plugins: Mapping[str, PluginInfo]
    targets: Mapping[str, Mapping[str, str]]
    owners: Mapping[str, Mapping[str, str]]
    claimed: Mapping[str, Mapping[str, tuple[str, ...]]]
    selection: Selection
    unmatched: tuple[str, ...]
    manager: pluggy.PluginManager
    _problems: dict[str, list[HookProblem]] = field(default_factory=dict, repr=False)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def with_status(self, *statuses: str) -> list[PluginInfo]:
        return [info for info in self.plugins.values() if info.status in statuses]

    def cached(self, key: Any, build: Callable[[Registry], T]) -> T:
        """What ``build(self)`` returns, computed once per snapshot.

        Two threads may both build on a first call; both get the value stored first.
        """
        try:
            return self._cache[key]
        except KeyError:
            pass
        return self._cache.setdefault(key, build(self))

    @property
    def cache(self) -> dict[Any, Any]:
        """A dictionary that lives as long as this snapshot (plain reads, no lock)."""
        return self._cache

    def record_problem(self, plugin: str, hook: str, message: str, error: BaseException | None = None) -> None:
        """Note that ``plugin``'s ``hook`` failed after discovery (shown by ``spikelayers plugins``)."""
        self._problems.setdefault(plugin, []).append(HookProblem(hook, message, error))

    def problems(self) -> dict[str, list[HookProblem]]:
        """Hook failures recorded so far, by plugin."""
        return {name: list(found) for name, found in sorted(self._problems.items())}


# The snapshot and what the next one is built from. `_state_lock` guards only these
# assignments; no discovery or plugin code ever runs while it is held.
_state_lock = threading.Lock()
_current: Registry | None = None
_generation = 0
_extra_plugins: list[tuple[str, object]] = []


def get_registry() -> Registry:
    """The current snapshot; discovers the plugins on first use (no lock once built)."""
    current = _current
    if current is not None:
        return current
    return _build_and_install()


def _build_and_install() -> Registry:
    global _current
    with _state_lock:
        generation, extra = _generation, tuple(_extra_plugins)
    built = discover(extra)
    with _state_lock:
        if _generation == generation:
            if _current is None:
                _current = built
            return _current
    return built


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy ``PluginManager`` of the healthy plugins.

    Calling a hook on it runs every plugin's implementation in one call, so one plugin
    that raises fails the call: prefer :func:`hook_results`.
    """
    return get_registry().manager


def reload() -> None:
    """Forget the snapshot; the next lookup discovers the plugins again."""
    global _current, _generation
    with _state_lock:
        _generation += 1
        _current = None


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin (a module or an object with hook methods) by hand, for tests and
    notebooks; the next lookup sees it. A name already registered is ignored."""
    global _current, _generation
    with _state_lock:
        _extra_plugins.append((name or getattr(plugin, "__name__", None) or type(plugin).__name__, plugin))
        _generation += 1
        _current = None


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin`."""
    global _current, _generation
    with _state_lock:
        _extra_plugins[:] = [(n, p) for n, p in _extra_plugins if n != name]
        _generation += 1
        _current = None


def hook_results(hook_name: str, /, registry: Registry | None = None, **kwargs: Any) -> list[tuple[PluginInfo, Any]]:
    """Call ``hook_name`` on each healthy plugin that implements it, one plugin at a time.

    Returns ``[(plugin, result), ...]`` sorted by plugin name, leaving out ``None``
    results. A plugin whose implementation raises is left out and the failure is
    recorded against it (:meth:`Registry.problems`); the others still answer. Works for
    hooks that the core does not specify (a plugin family may define its own).
    ``kwargs`` are the hook's arguments.
    """
    registry = get_registry() if registry is None else registry
    caller = getattr(registry.manager.hook, hook_name, None)
    if caller is None:
        return []
    results = []
    for impl in sorted(caller.get_hookimpls(), key=lambda impl: impl.plugin_name):
        missing = [arg for arg in impl.argnames if arg not in kwargs]
        if missing:
            raise TypeError(f"hook {hook_name} of plugin {impl.plugin_name!r} needs the arguments {missing}")
        info = registry.plugins[impl.plugin_name]
        try:
            result = impl.function(*(kwargs[arg] for arg in impl.argnames))
        except Exception as error:
            registry.record_problem(info.name, hook_name, f"{hook_name} raised {type(error).__name__}: {error}", error)
            continue
        if result is not None:
            results.append((info, result))
    return results


# -- discovery --------------------------------------------------------------------------


@dataclass
class _Candidate:
    name: str
    load: Callable[[], object]
    distribution: str | None
    version: str | None
    entry_point: str | None = None
    builtin: bool = False


def _core_version() -> str | None:
    try:
        return metadata.version("spikelayers-core")
    except metadata.PackageNotFoundError:
        return None


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


@functools.cache
def _packages_distributions() -> Mapping[str, list[str]]:
    """Top-level package -> distributions; read once (it scans every installed file list)."""
    return metadata.packages_distributions()


def _distribution_of(plugin: object) -> tuple[str | None, str | None]:
    """The distribution of a plugin registered by hand, from its top-level package."""
    module_name = getattr(plugin, "__name__", None) or type(plugin).__module__
    top = module_name.split(".")[0]
    for dist_name in _packages_distributions().get(top, []):
        try:
            return dist_name, metadata.version(dist_name)
        except metadata.PackageNotFoundError:
            continue
    return None, None


def _candidates(extra: Iterable[tuple[str, object]]) -> tuple[list[_Candidate], list[PluginInfo], list[PluginInfo]]:
    """Plugins to load, plugins filtered out, duplicate entry-point names."""
    selection = parse_selection(os.environ.get(SELECT_ENV))
    to_load: list[_Candidate] = []
    filtered: list[PluginInfo] = []
    duplicates: list[PluginInfo] = []
    seen: set[str] = set()
    core_version = _core_version()
    for name, module_name in DEFAULT_PLUGINS.items():
        seen.add(name)
        load = _importer(module_name)
        to_load.append(_Candidate(name, load, "spikelayers-core", core_version, builtin=True))
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        text = f"{ep.name} = {ep.value}"
        if ep.name in seen:
            duplicates.append(
                PluginInfo(
                    ep.name,
                    CONFLICTING,
                    dist_name,
                    version,
                    entry_point=text,
                    reason=f"another plugin is already named {ep.name!r}; this entry point was not loaded",
                )
            )
            continue
        seen.add(ep.name)
        if not selection.admits(ep.name):
            filtered.append(
                PluginInfo(
                    ep.name,
                    FILTERED,
                    dist_name,
                    version,
                    entry_point=text,
                    reason=f"excluded by {selection.describe()}",
                )
            )
            continue
        to_load.append(_Candidate(ep.name, ep.load, dist_name, version, entry_point=text))
    for name, plugin in extra:
        if name in seen:
            continue
        seen.add(name)
        dist_name, version = _distribution_of(plugin)
        to_load.append(_Candidate(name, lambda plugin=plugin: plugin, dist_name, version))
    return to_load, filtered, duplicates


def _importer(module_name: str) -> Callable[[], object]:
    return lambda: importlib.import_module(module_name)


def _validated_provides(answer: object) -> dict[str, dict[str, str]]:
    """The ``spikelayers_provides`` answer, checked; ``ValueError`` says what is wrong."""
    if answer is None:
        return {}
    if not isinstance(answer, Mapping):
        raise ValueError(f"spikelayers_provides must return a mapping, got {type(answer).__name__}")
    provides: dict[str, dict[str, str]] = {}
    for namespace, names in answer.items():
        if namespace not in NAMESPACES:
            raise ValueError(
                f"spikelayers_provides names the unknown namespace {namespace!r}; namespaces are {NAMESPACES}"
            )
        if not isinstance(names, Mapping):
            raise ValueError(f"spikelayers_provides[{namespace!r}] must be a mapping, got {type(names).__name__}")
        for public_name, target in names.items():
            if not isinstance(public_name, str) or not public_name.isidentifier() or public_name.startswith("_"):
                raise ValueError(f"spikelayers_provides[{namespace!r}] has the invalid public name {public_name!r}")
            if not is_target(target):
                raise ValueError(
                    f"spikelayers_provides[{namespace!r}][{public_name!r}] must be 'module.path:attribute', "
                    f"got {target!r}"
                )
        provides[namespace] = dict(names)
    return provides


def _hook_names(manager: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or ()))


def _load(candidate: _Candidate, manager: pluggy.PluginManager) -> PluginInfo:
    info = PluginInfo(
        candidate.name,
        OK,
        candidate.distribution,
        candidate.version,
        entry_point=candidate.entry_point,
        builtin=candidate.builtin,
    )
    where = f"its entry point {candidate.entry_point!r}" if candidate.entry_point else "its module"
    try:
        plugin = candidate.load()
    except Exception as error:
        return _broken(info, f"{where} failed to load: {type(error).__name__}: {error}", error)
    info = _replace(info, module=plugin)
    try:
        manager.register(plugin, name=candidate.name)
    except Exception as error:
        return _broken(info, f"its hooks could not be registered: {type(error).__name__}: {error}", error)
    info = _replace(info, hooks=_hook_names(manager, plugin))
    impls = [i for i in manager.hook.spikelayers_provides.get_hookimpls() if i.plugin_name == candidate.name]
    try:
        provides = _validated_provides(impls[0].function()) if impls else {}
    except Exception as error:
        manager.unregister(name=candidate.name)
        return _broken(info, f"spikelayers_provides failed: {type(error).__name__}: {error}", error)
    return _replace(info, provides=provides)


def _replace(info: PluginInfo, **changes: Any) -> PluginInfo:
    return replace(info, **changes)


def _broken(info: PluginInfo, reason: str, error: BaseException) -> PluginInfo:
    return _replace(info, status=BROKEN, reason=reason, error=error)


def _resolve_conflicts(plugins: dict[str, PluginInfo]) -> None:
    """Mark plugins that provide a name another plugin provides as conflicting.

    A name keeps its catalogued owner (the distribution that the reference API puts it
    in); every other claimant is conflicting. When no claimant is the catalogued owner,
    all of them are.
    """
    claimants: dict[tuple[str, str], list[str]] = {}
    for info in plugins.values():
        if info.healthy:
            for namespace, names in info.provides.items():
                for public_name in names:
                    claimants.setdefault((namespace, public_name), []).append(info.name)
    reasons: dict[str, list[str]] = {}
    for (namespace, public_name), names in sorted(claimants.items()):
        if len(names) < 2:
            continue
        owner = distribution_for(namespace, public_name)
        keepers = [n for n in names if owner is not None and plugins[n].distribution == owner]
        keeper = keepers[0] if len(keepers) == 1 else None
        for name in names:
            if name == keeper:
                continue
            others = ", ".join(plugins[other].label for other in names if other != name)
            reasons.setdefault(name, []).append(f"spikelayers.{namespace}.{public_name} is also provided by {others}")
    for name, found in reasons.items():
        plugins[name] = _replace(plugins[name], status=CONFLICTING, reason="; ".join(found))


def discover(extra: Iterable[tuple[str, object]] = ()) -> Registry:
    """Load every selected plugin in isolation and build a new snapshot (not installed;
    :func:`get_registry` installs it)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    to_load, filtered, duplicates = _candidates(extra)
    plugins: dict[str, PluginInfo] = {}
    for candidate in to_load:
        plugins[candidate.name] = _load(candidate, manager)
    _resolve_conflicts(plugins)
    for info in filtered + duplicates:
        plugins.setdefault(info.name, info)
    for info in plugins.values():
        if info.status == CONFLICTING and manager.has_plugin(info.name):
            manager.unregister(name=info.name)

    targets: dict[str, dict[str, str]] = {ns: {} for ns in NAMESPACES}
    owners: dict[str, dict[str, str]] = {ns: {} for ns in NAMESPACES}
    claimed: dict[str, dict[str, tuple[str, ...]]] = {ns: {} for ns in NAMESPACES}
    for info in sorted(plugins.values(), key=lambda info: info.name):
        for namespace, names in info.provides.items():
            for public_name, target in names.items():
                if info.healthy:
                    targets[namespace][public_name] = target
                    owners[namespace][public_name] = info.name
                else:
                    claimed[namespace][public_name] = (*claimed[namespace].get(public_name, ()), info.name)
    for namespace in NAMESPACES:  # a name that a healthy plugin keeps is not unavailable
        for public_name in list(claimed[namespace]):
            if public_name in targets[namespace]:
                del claimed[namespace][public_name]

    selection = parse_selection(os.environ.get(SELECT_ENV))
    asked = (selection.allow or frozenset()) | selection.deny
    unmatched = tuple(sorted(name for name in asked if name not in plugins))
    return Registry(
        plugins=dict(sorted(plugins.items())),
        targets=targets,
        owners=owners,
        claimed=claimed,
        selection=selection,
        unmatched=unmatched,
        manager=manager,
    )
