"""Weight-standardised layers with step modes: WSConv2d and WSLinear.

Use them through the registry (``spikelayers.layer.WSConv2d``) or import
``spikelayers_ws.conv`` / ``spikelayers_ws.linear`` directly. The formula lives in
``spikelayers_ws.standardize``.
"""

from __future__ import annotations

import importlib

from .plugin import LAYERS

__all__ = sorted(LAYERS)


def __getattr__(name: str) -> object:
    if name in LAYERS:
        module, attribute = LAYERS[name].split(":")
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
