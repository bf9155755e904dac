"""spikelayers: spiking-neural-network layers for PyTorch.

Layers, neurons and surrogate functions are provided by plugins and reached through
the lazy namespaces :mod:`spikelayers.layer`, :mod:`spikelayers.neuron` and
:mod:`spikelayers.surrogate`; importing ``spikelayers`` loads no plugin.
"""

from __future__ import annotations

import importlib
import warnings
from importlib import metadata
from typing import Any

# The core does not need numpy. Without it, torch warns at import that it failed to
# initialise NumPy; importing torch here, with that one warning silenced, keeps
# ``import spikelayers`` quiet (numpy-based torch features still raise when used).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    import torch  # noqa: F401

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
