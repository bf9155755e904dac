"""spikelayers: spiking-neural-network layers for PyTorch.

Layers, neurons and surrogate functions are provided by plugins and reached through
the lazy namespaces :mod:`spikelayers.layer`, :mod:`spikelayers.neuron` and
:mod:`spikelayers.surrogate`; importing ``spikelayers`` loads no plugin.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

try:
    __version__ = metadata.version("spikelayers-core")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

_SUBMODULES = ("base", "functional", "layer", "neuron", "surrogate", "kernels", "plugins", "testing", "errors")

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'spikelayers' has no attribute {name!r}")
