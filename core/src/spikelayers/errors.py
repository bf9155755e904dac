"""Exceptions raised by spikelayers and its plugins."""

from __future__ import annotations


class PluginNotInstalledError(ImportError):
    """A known name was requested, but the distribution that provides it is not installed."""

    def __init__(self, namespace: str, name: str, distribution: str) -> None:
        self.namespace = namespace
        self.name = name
        self.distribution = distribution
        super().__init__(
            f"spikelayers.{namespace}.{name} is provided by the distribution "
            f"'{distribution}', which is not installed; install it with "
            f"`pip install {distribution}`",
            name=name,
        )


class PluginConflictError(RuntimeError):
    """Two plugins register the same name in one namespace."""


class BackendUnavailableError(RuntimeError):
    """A backend was requested that cannot run on this input or machine."""


class StateShapeError(RuntimeError):
    """A layer's memory no longer fits its input (for example, the batch size changed)."""
