"""Exceptions raised by spikelayers and its plugins.

A name of ``spikelayers.layer`` / ``neuron`` / ``surrogate`` that cannot be given raises
a :class:`PluginUnavailableError`, an ``AttributeError`` as module attribute lookup
must (so ``hasattr`` and ``getattr(module, name, default)`` work), with a subclass that
says why: not installed, excluded by ``SPIKELAYERS_PLUGINS``, broken, or claimed by
two plugins.
"""

from __future__ import annotations


class PluginUnavailableError(AttributeError):
    """A name of a lazy namespace cannot be given; the message says why and what to do.

    Attributes:
        namespace: ``"layer"``, ``"neuron"`` or ``"surrogate"``.
        name: the public name that was asked for.
        distribution: the distribution that provides (or would provide) it, if known.
    """

    def __init__(self, namespace: str, name: str, distribution: str | None, message: str) -> None:
        super().__init__(message, name=name)
        self.namespace = namespace
        self.distribution = distribution


class PluginNotInstalledError(PluginUnavailableError):
    """A known name was requested, but the distribution that provides it is not installed."""

    def __init__(self, namespace: str, name: str, distribution: str) -> None:
        super().__init__(
            namespace,
            name,
            distribution,
            f"spikelayers.{namespace}.{name} is provided by the distribution "
            f"'{distribution}', which is not installed; install it with "
            f"`pip install {distribution}`",
        )


class PluginFilteredError(PluginUnavailableError):
    """The plugin that provides a name is installed but excluded by ``SPIKELAYERS_PLUGINS``."""


class PluginBrokenError(PluginUnavailableError):
    """The plugin that provides (or may provide) a name failed to load or to answer a hook.

    The plugin's own exception is chained as ``__cause__``.
    """

    def __init__(
        self, namespace: str, name: str, distribution: str | None, message: str, plugin: str | None = None
    ) -> None:
        super().__init__(namespace, name, distribution, message)
        self.plugin = plugin


class PluginConflictError(PluginBrokenError):
    """Two plugins provide the same name in one namespace; neither is trusted with it."""


class BackendUnavailableError(RuntimeError):
    """A backend was requested that cannot run on this input or machine."""


class StateShapeError(RuntimeError):
    """A layer's memory no longer fits its input (for example, the batch size changed)."""
