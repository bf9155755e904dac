"""Lazy namespaces: ``spikelayers.layer``, ``spikelayers.neuron``, ``spikelayers.surrogate``.

A name is resolved through the plugin registry on first use and its plugin module is
imported only then. ``dir()`` lists every name the installed plugins provide.
"""

from __future__ import annotations

import difflib
from typing import Any

from .catalog import distribution_for
from .errors import PluginNotInstalledError
from .plugins import get_registry, load_target


def resolve(namespace: str, name: str) -> Any:
    """Return the object that ``spikelayers.<namespace>.<name>`` stands for.

    Raises :class:`PluginNotInstalledError` (an ``ImportError``) for a known name whose
    distribution is missing, and ``AttributeError`` with close matches otherwise.
    """
    registry = get_registry()
    target = registry.targets[namespace].get(name)
    if target is not None:
        return load_target(target)
    distribution = distribution_for(namespace, name)
    if distribution is not None:
        raise PluginNotInstalledError(namespace, name, distribution)
    known = sorted(registry.targets[namespace])
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise AttributeError(f"module 'spikelayers.{namespace}' has no attribute {name!r}{hint}")


def names(namespace: str) -> list[str]:
    """Every name the installed plugins provide in ``namespace``, sorted."""
    return sorted(get_registry().targets[namespace])


def make_module_hooks(namespace: str, module_globals: dict[str, Any]) -> tuple[Any, Any]:
    """Build the ``__getattr__`` and ``__dir__`` functions of a lazy namespace module."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return resolve(namespace, name)

    def __dir__() -> list[str]:
        own = [key for key in module_globals if not key.startswith("_")]
        return sorted(set(own) | set(names(namespace)))

    return __getattr__, __dir__
