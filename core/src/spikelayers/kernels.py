"""The kernel registry: implementations of one op per backend, chosen at run time.

Plugins contribute :class:`KernelSpec` entries through the ``spikelayers_kernels`` hook.
``'torch'`` runs everywhere. ``'triton'`` runs on CUDA tensors when triton is
importable, or on any device when ``TRITON_INTERPRET=1`` (triton's CPU interpreter,
used by the tests). ``'auto'`` takes triton where it can run and torch otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .errors import BackendUnavailableError

BACKENDS: tuple[str, ...] = ("torch", "triton")


@dataclass(frozen=True)
class KernelSpec:
    """One implementation of an op.

    ``target`` is ``"module.path:attribute"`` (imported on first use) or a callable.
    """

    op: str
    backend: str
    target: str | Callable[..., Any]

    def load(self) -> Callable[..., Any]:
        if callable(self.target):
            return self.target
        from .plugins import load_target

        return load_target(self.target)  # type: ignore[return-value]


_lock = threading.RLock()
_specs: dict[str, dict[str, KernelSpec]] | None = None
_loaded: dict[tuple[str, str], Callable[..., Any]] = {}


def _reset_cache() -> None:
    global _specs
    with _lock:
        _specs = None
        _loaded.clear()


def registered() -> dict[str, dict[str, KernelSpec]]:
    """``{op: {backend: KernelSpec}}`` for every installed plugin."""
    global _specs
    with _lock:
        if _specs is None:
            from .plugins import get_plugin_manager

            specs: dict[str, dict[str, KernelSpec]] = {}
            for contributed in get_plugin_manager().hook.spikelayers_kernels():
                for spec in contributed or ():
                    if spec.backend not in BACKENDS:
                        raise ValueError(
                            f"kernel {spec.op!r}: unknown backend {spec.backend!r}, expected one of {BACKENDS}"
                        )
                    if spec.backend in specs.get(spec.op, {}):
                        raise ValueError(f"kernel {spec.op!r}/{spec.backend} is registered twice")
                    specs.setdefault(spec.op, {})[spec.backend] = spec
            _specs = specs
        return _specs


def triton_interpreting() -> bool:
    """True when triton's CPU interpreter is switched on (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def triton_installed() -> bool:
    """Whether triton can be found (an import hook that refuses it counts as absent)."""
    try:
        return importlib.util.find_spec("triton") is not None
    except (ImportError, ValueError):
        return False


def backend_unavailable_reason(backend: str, device: torch.device | str | None = None) -> str | None:
    """Why ``backend`` cannot run on ``device``, or ``None`` if it can."""
    if backend == "torch":
        return None
    if backend != "triton":
        return f"unknown backend {backend!r}; expected one of {BACKENDS}"
    if not triton_installed():
        return "triton is not installed (pip install 'spikelayers[triton]')"
    device = torch.device(device) if device is not None else None
    if triton_interpreting():
        return None
    if device is None or device.type != "cuda":
        where = "no device" if device is None else f"a {device.type} tensor"
        return (
            f"triton kernels need CUDA tensors (got {where}); set TRITON_INTERPRET=1 to run them on the CPU interpreter"
        )
    return None


def select_backend(op: str, requested: str, device: torch.device | str | None) -> str:
    """Choose the backend that runs ``op`` for a tensor on ``device``.

    ``requested`` is ``'torch'``, ``'triton'`` or ``'auto'``. A forced backend that is not
    registered for ``op`` or cannot run raises :class:`BackendUnavailableError`.
    """
    specs = registered().get(op, {})
    if requested == "auto":
        if "triton" in specs and backend_unavailable_reason("triton", device) is None:
            return "triton"
        requested = "torch"
    if requested not in specs:
        have = sorted(specs) or "none"
        raise BackendUnavailableError(f"op {op!r} has no {requested!r} kernel installed (registered backends: {have})")
    reason = backend_unavailable_reason(requested, device)
    if reason is not None:
        raise BackendUnavailableError(f"op {op!r} cannot use backend {requested!r}: {reason}")
    return requested


def get_kernel(op: str, backend: str = "auto", device: torch.device | str | None = None) -> Callable[..., Any]:
    """The implementation of ``op`` for ``backend`` (see :func:`select_backend`)."""
    chosen = select_backend(op, backend, device)
    key = (op, chosen)
    with _lock:
        if key not in _loaded:
            _loaded[key] = registered()[op][chosen].load()
        return _loaded[key]


def available_backends(op: str, device: torch.device | str | None = None) -> list[str]:
    """Registered backends of ``op`` that can run on ``device``."""
    return [b for b in registered().get(op, {}) if backend_unavailable_reason(b, device) is None]
