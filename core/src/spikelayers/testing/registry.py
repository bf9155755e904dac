"""The conformance cases contributed by every installed plugin."""

from __future__ import annotations

from ..plugins import get_plugin_manager
from .case import LayerCase


def installed_cases() -> list[LayerCase]:
    """Every :class:`LayerCase` returned by the ``spikelayers_conformance_cases`` hook."""
    cases = [case for found in get_plugin_manager().hook.spikelayers_conformance_cases() for case in found or ()]
    return sorted(cases, key=lambda case: case.id)
