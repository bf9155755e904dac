"""Export spikelayers networks to NIR and import NIR graphs as spikelayers modules.

``to_nir(net, example_input, dt=1e-4)`` writes a :class:`nir.NIRGraph`;
``from_nir(graph_or_path, dt=None)`` builds modules from one. Converters come from the
layer families through the ``spikelayers_nir_converters`` hook.
"""

from __future__ import annotations

from .api import (
    DEFAULT_DT,
    ConverterDiscoveryError,
    ExportContext,
    Fold,
    ImportContext,
    NIRExportError,
    NIRImportError,
)
from .executor import GraphExecutor
from .export import to_nir
from .importer import from_nir

__all__ = [
    "DEFAULT_DT",
    "ConverterDiscoveryError",
    "ExportContext",
    "Fold",
    "GraphExecutor",
    "ImportContext",
    "NIRExportError",
    "NIRImportError",
    "from_nir",
    "to_nir",
]
__version__ = "0.1.0"
