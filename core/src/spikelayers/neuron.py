"""Every spiking neurons provided by the installed plugins.

Names resolve lazily through the plugin registry: see :mod:`spikelayers.namespaces`.
"""

from . import namespaces as _namespaces

__getattr__, __dir__ = _namespaces.make_module_hooks("neuron", globals())
