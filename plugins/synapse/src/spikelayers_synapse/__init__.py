"""Synapses for spikelayers: the exponential synapse filter and the delay line.

The layers are reached through ``spikelayers.layer`` (``SynapseFilter``,
``LowPassSynapse``, ``Delay``) or imported from :mod:`spikelayers_synapse.filter` and
:mod:`spikelayers_synapse.delay`.
"""

__all__ = ["Delay", "LowPassSynapse", "SynapseFilter"]


def __getattr__(name: str) -> object:
    if name in ("SynapseFilter", "LowPassSynapse"):
        from . import filter as module

        return getattr(module, name)
    if name == "Delay":
        from .delay import Delay

        return Delay
    raise AttributeError(f"module 'spikelayers_synapse' has no attribute {name!r}")
