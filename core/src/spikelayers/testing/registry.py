"""The conformance cases contributed by every installed plugin."""

from __future__ import annotations

from ..plugins import hook_results
from .case import LayerCase


def installed_cases() -> list[LayerCase]:
    """Every :class:`LayerCase` returned by the ``spikelayers_conformance_cases`` hook of
    the healthy plugins (a plugin whose hook raises contributes none)."""
    cases = [case for _, found in hook_results("spikelayers_conformance_cases") for case in found]
    return sorted(cases, key=lambda case: case.id)
