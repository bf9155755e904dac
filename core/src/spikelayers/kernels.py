"""The kernel registry: the one place that decides which implementation of an op runs.

Plugins contribute :class:`KernelSpec` entries through the ``spikelayers_kernels`` hook.
A spec names its op, its backend, its implementation and, optionally, a ``supports``
function that says why it cannot take a call with given settings (for example a
surrogate function it has no derivative for). Whether a backend runs on this machine
and device is decided here: ``'torch'`` runs everywhere; ``'triton'`` runs on CUDA
tensors when triton is importable, or on any device when ``TRITON_INTERPRET=1``
(triton's CPU interpreter, used by the tests); ``'inductor'`` (kernels that
``torch.compile`` builds for the CPU) runs on CPU tensors where a C++ compiler is found.
``'auto'`` takes the first backend of :data:`AUTO_PREFERENCE` that can run the call; it
never takes ``'inductor'``, whose first call of a configuration compiles for seconds.

:func:`get_kernel` is on the hot path of every stateful layer: after its first call for
an ``(op, backend, device type, settings)`` it is one dictionary read on the plugin
snapshot, with no lock, import or host sync, so ``torch.compile(fullgraph=True)``
traces straight through it. A new snapshot (``plugins.reload()``) decides again.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from .errors import BackendUnavailableError
from .plugins import Registry, get_registry, hook_results
from .targets import load_target

BACKENDS: tuple[str, ...] = ("torch", "triton", "inductor")
AUTO = "auto"
AUTO_PREFERENCE: tuple[str, ...] = ("triton", "torch")
"""The order in which ``'auto'`` tries the backends (``'inductor'`` is only ever asked for)."""
CXX_COMPILERS: tuple[str, ...] = ("g++", "c++", "clang++")
"""The C++ compilers looked for when ``$CXX`` is not set (TorchInductor's CPU code needs one)."""
HOOK = "spikelayers_kernels"

KernelT = TypeVar("KernelT", bound=Callable[..., Any])


def torch_func_active() -> bool:
    """Whether a :mod:`torch.func` transform (``vmap``, ``grad``, ``jvp``, ...) is running
    this call: then custom autograd functions that define no ``setup_context`` or vmap
    rule (hand-written backward passes, triton kernels) cannot run, and the layers take
    their readable PyTorch path. One check, without a host sync; ``torch.compile``
    traces it."""
    return torch._C._are_functorch_transforms_active()


def reference_under_torch_func(reference: Callable[..., Any]) -> Callable[[KernelT], KernelT]:
    """Decorate a fast kernel so that it runs ``reference`` (same signature and results,
    plain PyTorch ops) while :func:`torch_func_active`; otherwise the kernel itself runs,
    with nothing added to its call but that check. The reference stays reachable as
    ``kernel.reference``."""

    def decorate(kernel: KernelT) -> KernelT:
        @functools.wraps(kernel)
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            if torch_func_active():
                return reference(*args, **kwargs)
            return kernel(*args, **kwargs)

        dispatch.reference = reference  # type: ignore[attr-defined]
        return dispatch  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class KernelSpec:
    """One implementation of an op.

    Args:
        op: the op's name, ``"family.what"`` (e.g. ``"neuron.multi_step"``).
        backend: one of :data:`BACKENDS`.
        target: ``"module.path:attribute"`` (imported on first use) or a callable.
        supports: ``(**settings) -> str | None``, or its ``"module:attribute"``: the
            reason this kernel cannot take a call with ``settings`` (the keyword
            arguments the layer passes to :func:`get_kernel`), or ``None`` when it can.
            ``None`` (the default) takes every call.
    """

    op: str
    backend: str
    target: str | Callable[..., Any]
    supports: str | Callable[..., str | None] | None = None

    def load(self) -> Callable[..., Any]:
        if callable(self.target):
            return self.target
        return load_target(self.target)  # type: ignore[return-value]

    def unsupported_reason(self, **settings: Any) -> str | None:
        """Why this kernel cannot take a call with ``settings``, or ``None``."""
        if self.supports is None:
            return None
        check = load_target(self.supports) if isinstance(self.supports, str) else self.supports
        return check(**settings)  # type: ignore[operator]


Loaded = tuple[Callable[..., Any], Callable[..., str | None] | None]
"""An imported kernel and its imported ``supports`` (or ``None``)."""


@dataclass(frozen=True)
class KernelTable:
    """Every valid kernel of the healthy plugins (one table per plugin snapshot).

    Attributes:
        specs: ``specs[op][backend]``, the :class:`KernelSpec` entries.
        providers: ``(op, backend) -> plugin`` that contributed it.
        loaded: ``(op, backend) -> (kernel, supports)`` for the kernels imported so far
            (``None`` for one that failed to import); filled by :func:`prepare`.
        triton_installed: whether triton could be found when the table was built.
    """

    specs: Mapping[str, Mapping[str, KernelSpec]]
    providers: Mapping[tuple[str, str], str]
    loaded: dict[tuple[str, str], Loaded | None]
    triton_installed: bool


def _invalid(spec: object) -> str | None:
    if not isinstance(spec, KernelSpec):
        return f"expected KernelSpec entries, got {type(spec).__name__}"
    if not isinstance(spec.op, str) or not spec.op:
        return f"a kernel's op must be a non-empty string, got {spec.op!r}"
    if spec.backend not in BACKENDS:
        return f"kernel {spec.op!r}: unknown backend {spec.backend!r}, expected one of {BACKENDS}"
    return None


def import_kernel(op: str, backend: str, registry: Registry | None = None) -> Loaded | None:
    """Import the kernel ``op``/``backend`` of the snapshot ``registry`` (the current one by
    default), once per snapshot; ``None`` when it failed to import (the failure is recorded
    against its plugin). Raises ``KeyError`` for a kernel that is not registered."""
    registry = get_registry() if registry is None else registry
    table = kernel_table(registry)
    key = (op, backend)
    if key in table.loaded:
        return table.loaded[key]
    spec = table.specs[op][backend]
    try:
        supports = load_target(spec.supports) if isinstance(spec.supports, str) else spec.supports
        loaded: Loaded | None = (spec.load(), supports)  # type: ignore[assignment]
    except Exception as error:
        registry.record_problem(
            table.providers[key],
            HOOK,
            f"kernel {op!r}/{backend} failed to import: {type(error).__name__}: {error}",
            error,
        )
        loaded = None
    return table.loaded.setdefault(key, loaded)


def _collect(registry: Registry) -> KernelTable:
    specs: dict[str, dict[str, KernelSpec]] = {}
    providers: dict[tuple[str, str], str] = {}
    for info, contributed in hook_results(HOOK, registry=registry):
        try:
            entries = list(contributed)
        except TypeError:
            entries = [contributed]
        problems = [reason for reason in map(_invalid, entries) if reason is not None]
        taken = [
            f"kernel {s.op!r}/{s.backend} is already provided by plugin {providers[(s.op, s.backend)]!r}"
            for s in entries
            if not problems and (s.op, s.backend) in providers
        ]
        seen = [(s.op, s.backend) for s in entries] if not problems else []
        if len(set(seen)) != len(seen):
            problems.append("it registers one op/backend twice")
        if problems or taken:
            registry.record_problem(info.name, HOOK, "; ".join(problems + taken) + "; none of its kernels is used")
            continue
        for spec in entries:
            specs.setdefault(spec.op, {})[spec.backend] = spec
            providers[(spec.op, spec.backend)] = info.name
    return KernelTable(specs, providers, {}, triton_installed())


def kernel_table(registry: Registry | None = None) -> KernelTable:
    """The kernels of the current plugin snapshot (collected and imported once per snapshot)."""
    registry = get_registry() if registry is None else registry
    return registry.cached(HOOK, _collect)


def prepare(op: str | None = None, backend: str = AUTO) -> None:
    """Import now the kernels of ``op`` (every op when ``None``) that ``backend`` may choose
    on this machine: ``'torch'`` or ``'triton'`` that one, ``'auto'`` every installed one.

    A layer calls it when it is built, so that its first forward, possibly under
    ``torch.compile(fullgraph=True)``, only reads dictionaries (an import cannot be
    traced). After changing a layer's backend, its first call imports the new kernel:
    make it an eager call, or call ``prepare`` again, before compiling.
    """
    registry = get_registry()
    table = kernel_table(registry)
    for name in [op] if op is not None else list(table.specs):
        for candidate in table.specs.get(name, {}):
            if backend in (AUTO, candidate) and (candidate != "triton" or table.triton_installed):
                import_kernel(name, candidate, registry)


def registered() -> Mapping[str, Mapping[str, KernelSpec]]:
    """``{op: {backend: KernelSpec}}`` for every healthy plugin."""
    return kernel_table().specs


# -- where a backend can run ------------------------------------------------------------


def triton_interpreting() -> bool:
    """True when triton's CPU interpreter is switched on (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def triton_installed() -> bool:
    """Whether triton can be found (an import hook that refuses it counts as absent)."""
    try:
        return importlib.util.find_spec("triton") is not None
    except (ImportError, ValueError):
        return False


def _device_type(device: torch.device | str | None) -> str | None:
    if device is None:
        return None
    if isinstance(device, torch.device):
        return device.type
    return torch.device(device).type


def backend_unavailable_reason(
    backend: str, device: torch.device | str | None = None, installed: bool | None = None
) -> str | None:
    """Why ``backend`` cannot run on ``device`` on this machine, or ``None`` if it can.

    ``installed`` says whether triton is installed (looked up when ``None``).
    """
    if backend == "torch":
        return None
    if backend == "inductor":
        return _inductor_unavailable_reason(device)
    if backend != "triton":
        return f"unknown backend {backend!r}; expected one of {BACKENDS}"
    if not (triton_installed() if installed is None else installed):
        return "triton is not installed (pip install 'spikelayers[triton]')"
    if triton_interpreting():
        return None
    device_type = _device_type(device)
    if device_type != "cuda":
        where = "no device" if device_type is None else f"a {device_type} tensor"
        return f"needs CUDA tensors (got {where}); set TRITON_INTERPRET=1 to run on triton's CPU interpreter"
    return None


def cxx_compiler() -> str | None:
    """The path of the C++ compiler TorchInductor would use (``$CXX``, else the first of
    :data:`CXX_COMPILERS` on ``PATH``), or ``None``."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else list(CXX_COMPILERS)
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def _inductor_unavailable_reason(device: torch.device | str | None) -> str | None:
    device_type = _device_type(device)
    if device_type != "cpu":
        where = "no device" if device_type is None else f"a {device_type} tensor"
        return f"compiles CPU kernels only (got {where}); on CUDA use the 'triton' backend"
    if cxx_compiler() is None:
        wanted = f"$CXX ({os.environ['CXX']})" if os.environ.get("CXX") else ", ".join(CXX_COMPILERS)
        return f"needs a C++ compiler for torch.compile on CPU; none found (looked for {wanted})"
    return None


def why_not(op: str, backend: str, device: torch.device | str | None = None, **settings: Any) -> str | None:
    """Why ``backend`` cannot run ``op`` for this call, or ``None`` if it can."""
    return _why_not(get_registry(), op, backend, device, settings)


def _why_not(
    registry: Registry, op: str, backend: str, device: torch.device | str | None, settings: dict[str, Any]
) -> str | None:
    table = kernel_table(registry)
    if backend not in table.specs.get(op, {}):
        have = sorted(table.specs.get(op, {})) or "none"
        return f"no {backend!r} kernel of {op!r} is installed (installed backends: {have})"
    machine = backend_unavailable_reason(backend, device, table.triton_installed)
    if machine is not None:
        return machine
    loaded = import_kernel(op, backend, registry)
    if loaded is None:
        return f"the {backend!r} kernel of {op!r} failed to import (see `spikelayers plugins`)"
    supports = loaded[1]
    return None if supports is None else supports(**settings)


def select_backend(op: str, requested: str, device: torch.device | str | None = None, **settings: Any) -> str:
    """The backend that runs ``op`` for a call on ``device`` with ``settings``.

    ``requested`` is a backend of :data:`BACKENDS` or ``'auto'``. A forced backend
    that is not installed for ``op``, cannot run here or cannot take ``settings`` raises
    :class:`BackendUnavailableError` with the reason; so does ``'auto'`` when no
    backend can.
    """
    return _select(get_registry(), op, requested, device, settings)


def _select(
    registry: Registry, op: str, requested: str, device: torch.device | str | None, settings: dict[str, Any]
) -> str:
    """:func:`select_backend` on one snapshot (a reload meanwhile does not mix two)."""
    if requested != AUTO and requested not in BACKENDS:
        raise BackendUnavailableError(f"op {op!r}: unknown backend {requested!r}; expected 'auto' or one of {BACKENDS}")
    if requested == AUTO:
        reasons = {}
        for backend in AUTO_PREFERENCE:
            reason = _why_not(registry, op, backend, device, settings)
            if reason is None:
                return backend
            reasons[backend] = reason
        shown = "; ".join(f"{b}: {r}" for b, r in reasons.items())
        raise BackendUnavailableError(f"op {op!r}: no backend can run this call ({shown})")
    reason = _why_not(registry, op, requested, device, settings)
    if reason is not None:
        raise BackendUnavailableError(f"op {op!r} cannot use backend {requested!r}: {reason}")
    return requested


def get_kernel(
    op: str, backend: str = AUTO, device: torch.device | str | None = None, **settings: Any
) -> Callable[..., Any]:
    """The implementation of ``op`` for ``backend`` (see :func:`select_backend`).

    ``settings`` (hashable values) are passed to the kernels' ``supports``. The answer
    is kept on the plugin snapshot: every later call with the same arguments is one
    dictionary read. While a :mod:`torch.func` transform is active
    (:func:`torch_func_active`) the answer is the ``'torch'`` kernel whatever ``backend``
    asks for, since a triton kernel cannot be transformed. Once :func:`prepare` has imported the kernels, even the first call
    traces under ``torch.compile(fullgraph=True)``.
    """
    if torch_func_active():
        backend = "torch"
    registry = get_registry()
    key = (HOOK, op, backend, _device_type(device), triton_interpreting(), *settings.items())
    kernel = registry.cache.get(key)
    if kernel is None:
        chosen = _select(registry, op, backend, device, settings)
        kernel = registry.cache.setdefault(key, kernel_table(registry).loaded[(op, chosen)][0])  # type: ignore[index]
    return kernel


def available_backends(op: str, device: torch.device | str | None = None, **settings: Any) -> list[str]:
    """Installed backends of ``op`` that can run a call on ``device`` with ``settings``."""
    registry = get_registry()
    specs = kernel_table(registry).specs.get(op, {})
    return [b for b in specs if _why_not(registry, op, b, device, settings) is None]
