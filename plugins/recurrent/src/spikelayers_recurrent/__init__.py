"""Recurrent containers: wrap a single-step module and feed its last output back.

Use them through the registry, ``spikelayers.layer.LinearRecurrentContainer``, or import
``spikelayers_recurrent.element_wise`` / ``spikelayers_recurrent.linear`` directly.
"""

__all__ = ["ElementWiseRecurrentContainer", "LinearRecurrentContainer"]


def __getattr__(name: str) -> object:
    if name == "ElementWiseRecurrentContainer":
        from .element_wise import ElementWiseRecurrentContainer

        return ElementWiseRecurrentContainer
    if name == "LinearRecurrentContainer":
        from .linear import LinearRecurrentContainer

        return LinearRecurrentContainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
