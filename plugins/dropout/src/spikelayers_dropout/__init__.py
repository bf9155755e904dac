"""Dropout for spikelayers: masks that hold over a sequence, and DropConnect.

The layers are reached through ``spikelayers.layer`` (``Dropout``, ``Dropout2d``,
``DropConnectLinear``) or imported from :mod:`spikelayers_dropout.dropout` and
:mod:`spikelayers_dropout.dropconnect`.
"""

__all__ = ["DropConnectLinear", "Dropout", "Dropout2d"]


def __getattr__(name: str) -> object:
    if name in ("Dropout", "Dropout2d"):
        from . import dropout

        return getattr(dropout, name)
    if name == "DropConnectLinear":
        from .dropconnect import DropConnectLinear

        return DropConnectLinear
    raise AttributeError(f"module 'spikelayers_dropout' has no attribute {name!r}")
