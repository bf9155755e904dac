"""Resolve ``"module.path:attribute"`` strings, the form in which plugins name objects."""

from __future__ import annotations

import importlib


def load_target(target: str) -> object:
    """Import ``"module.path:attribute"`` and return the attribute (dots walk nested attributes).

    Raises ``ValueError`` for a string without ``:``, ``ImportError`` for a missing
    module and ``AttributeError`` for a missing attribute.
    """
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"a target is 'module.path:attribute', got {target!r}")
    obj: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def is_target(value: object) -> bool:
    """Whether ``value`` has the form of a target string (it is not imported)."""
    if not isinstance(value, str):
        return False
    module_name, sep, attribute = value.partition(":")
    return bool(sep and module_name and attribute) and all(
        part.isidentifier() for part in (*module_name.split("."), *attribute.split("."))
    )
