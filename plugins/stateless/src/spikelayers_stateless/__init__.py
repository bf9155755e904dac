"""Stateless torch layers with step modes: convolutions, pools, Linear, Flatten,
Upsample and VotingLayer.

Use them through the registry (``spikelayers.layer.Conv2d``) or import the modules
directly (``spikelayers_stateless.conv``, ``.pool``, ``.linear``, ``.flatten``,
``.upsample``, ``.voting``). In multi-step mode every layer folds ``T`` into the batch:
``[T, N, *] -> [T * N, *] -> [T, N, *']``.
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
