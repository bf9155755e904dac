"""Run the benchmark cases of every installed plugin.

For each case and size the runner times, alternating the variants every repetition so
that machine drift cancels:

- ``floor``: the memory-copy floor, ``y.copy_(x)`` repeated so that it reads and writes
  ``floor_passes`` input-sized tensors (forward), and twice that for forward+backward
  (the backward reads the output gradient and writes the input gradient at least);
- ``alloc-floor``: the same copies into freshly allocated tensors (``x.clone()``), which
  is what a layer that returns a new output pays at least: on CPU a new large tensor
  costs page faults that a copy into existing memory does not;
- ``spikelayers``: the layer in multi-step mode with its default backend, and one row per
  extra kernel backend the case lists that can run here (a layer without a multi-step
  mode, ``step_mode='s'`` in its case, is driven one step at a time);
- ``reference``: a deep copy in single-step mode driven by a Python loop over ``T``;
- ``baseline``: the implementation the plugin says its fused path replaces;
- ``compare``: on request, the same class (same constructor arguments) taken from the
  first of the named modules that has it, for example another library with this API
  (``--compare spikingjelly.activation_based.layer --compare
  spikingjelly.activation_based.neuron``); it is reset before every run by calling the
  ``reset()`` of each of its submodules that has one.

Forward is timed under ``torch.no_grad()``; forward+backward with gradients on, the
backward seeded with a fixed output gradient. One sample of a variant is the mean over
back-to-back calls lasting about :data:`SAMPLE_SECONDS` together (a single call where
one takes longer), so that short calls are not lost in timer and scheduler noise; the
reported time is the median of the samples.
"""

from __future__ import annotations

import copy
import importlib
import statistics
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from types import ModuleType

import torch
from torch import nn

from spikelayers.benchmarks import BenchCase
from spikelayers.functional import reset_net, set_backend, set_step_mode
from spikelayers.kernels import BACKENDS, backend_unavailable_reason
from spikelayers.plugins import hook_results

from .timing import calls_per_sample, peak_extra_bytes, time_calls

SAMPLE_SECONDS = 5e-3
"""About how long the calls of one timing sample last together."""
MOST_CALLS = 200
"""The most calls that make one timing sample."""


@dataclass
class Measurement:
    case: str
    size: str
    shape: tuple[int, ...]
    device: str
    dtype: str
    variant: str
    forward_ms: float
    forward_backward_ms: float | None
    peak_extra_mb: float | None
    input_mb: float
    traffic_mb: float
    """Bytes (MiB) the forward must read plus write at least (the floor's copies); twice that
    for forward+backward."""


def collect_cases(only: Iterable[str] | None = None) -> list[BenchCase]:
    """Every BenchCase of the installed plugins, optionally filtered by name substrings."""
    # One plugin at a time: a plugin whose hook raises loses its own cases only.
    cases = [case for _, found in hook_results("spikelayers_bench_cases") for case in found or ()]
    if only:
        wanted = [w.lower() for w in only]
        cases = [c for c in cases if any(w in c.name.lower() for w in wanted)]
    return sorted(cases, key=lambda c: c.name)


def _first_tensor(output: object) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (list, tuple)) and output:
        return _first_tensor(output[0])
    raise TypeError(f"benchmark output must be a tensor or a list of tensors, got {type(output).__name__}")


def reset_foreign(module: nn.Module) -> None:
    """Reset a module of another library: call ``reset()`` on every submodule that has one."""
    for submodule in module.modules():
        reset = getattr(submodule, "reset", None)
        if callable(reset):
            reset()


class Variant:
    """One implementation to time: forward, and forward+backward when it has gradients.

    ``module`` (if any) is reset with ``reset`` before every run and has its parameter
    gradients cleared after every backward.
    """

    def __init__(
        self,
        name: str,
        run: Callable[[torch.Tensor], torch.Tensor],
        module: nn.Module | None,
        x: torch.Tensor,
        reset: Callable[[nn.Module], None] = reset_net,
    ) -> None:
        self.name = name
        self.module = module
        self._run = run
        self._reset = reset
        self.x = x
        self.x_grad = x.detach().clone().requires_grad_(x.is_floating_point())
        with torch.no_grad():
            self.grad_out = torch.ones_like(_first_tensor(self._call(x)))

    def _call(self, x: torch.Tensor) -> torch.Tensor:
        if self.module is not None:
            self._reset(self.module)
        return _first_tensor(self._run(x))

    def forward(self) -> None:
        with torch.no_grad():
            self._call(self.x)

    def forward_backward(self) -> None:
        y = self._call(self.x_grad)
        if y.requires_grad:
            y.backward(self.grad_out)
        self.x_grad.grad = None
        if self.module is not None:
            self.module.zero_grad(set_to_none=True)

    @property
    def has_backward(self) -> bool:
        return self.x.is_floating_point()


def _floor_copies(passes: int) -> int:
    """Copies of the input (each one read and one write) that stand for ``passes`` tensor passes."""
    return max(passes // 2, 1)


def _floor_variant(x: torch.Tensor, passes: int, allocate: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    y = torch.empty_like(x)
    copies = _floor_copies(passes)

    def copy(times: int) -> None:
        for _ in range(times):
            if allocate:
                x.clone()
            else:
                y.copy_(x)

    return (lambda: copy(copies)), (lambda: copy(2 * copies))


def _multi_step(module: nn.Module) -> nn.Module:
    set_step_mode(module, "m")
    return module


def step_loop(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``[T, N, *] -> [T, N, *']`` by calling ``module`` (in single-step mode) on every step."""

    def loop(x_seq: torch.Tensor) -> torch.Tensor:
        return torch.stack([_first_tensor(module(x_t)) for x_t in x_seq])

    return loop


def _driven(module: nn.Module, step_mode: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """How a sequence is fed to ``module`` in ``step_mode``: whole, or one step at a time."""
    return module if step_mode == "m" else step_loop(module)


def import_compare_modules(names: Sequence[str]) -> list[ModuleType]:
    """Import the ``--compare`` modules, or raise ``ValueError`` naming the one that fails."""
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as error:
            raise ValueError(f"spikelayers bench: cannot import the --compare module {name!r}: {error}") from error
    return modules


def _compare_variant(case: BenchCase, x: torch.Tensor, device: torch.device, modules: Sequence[ModuleType]):
    """The case's class from the first of ``modules`` that has it, in multi-step mode, or ``None``."""
    class_name = case.name.split()[0]
    cls = next((getattr(m, class_name) for m in modules if hasattr(m, class_name)), None)
    if cls is None:
        return None
    try:
        module = cls(*case.args, **dict(case.kwargs)).to(device)
    except TypeError as error:  # a container whose arguments are modules, for example
        message = f"--compare: cannot build {cls.__module__}.{class_name} from the case's arguments: {error}"
        warnings.warn(message, stacklevel=2)
        return None
    for submodule in module.modules():
        if hasattr(submodule, "step_mode"):
            submodule.step_mode = case.step_mode
    return Variant("compare", _driven(module, case.step_mode), module, x, reset=reset_foreign)


def build_variants(
    case: BenchCase, x: torch.Tensor, device: torch.device, compare: Sequence[ModuleType] = ()
) -> list[Variant]:
    variants = []
    ours = case.factory().to(device)
    set_step_mode(ours, case.step_mode)
    variants.append(Variant("spikelayers", _driven(ours, case.step_mode), ours, x))
    for backend in case.backends:
        # a layer's own backend outside the kernel registry (SlidingPSN's 'conv') runs anywhere
        if backend not in BACKENDS or backend_unavailable_reason(backend, device) is None:
            other = copy.deepcopy(ours)
            set_backend(other, backend)
            variants.append(Variant(f"spikelayers[{backend}]", _driven(other, case.step_mode), other, x))
    if case.reference and case.step_mode == "m":
        single = copy.deepcopy(ours)
        set_step_mode(single, "s")
        variants.append(Variant("reference", step_loop(single), single, x))
    if case.baseline is not None:
        baseline = _multi_step(case.baseline().to(device))
        variants.append(Variant("baseline", baseline, baseline, x))
    other = _compare_variant(case, x, device, compare)
    if other is not None:
        variants.append(other)
    return variants


def run_case(
    case: BenchCase,
    size: str,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    repeats: int = 5,
    compare: Sequence[ModuleType] = (),
) -> list[Measurement]:
    """Time every variant of ``case`` at ``size``, alternating variants each repetition."""
    shape = tuple(case.shapes[size])
    torch.manual_seed(0)
    x = case.input_fn(shape, device, dtype)
    variants = build_variants(case, x, device, compare)
    timed: dict[str, tuple[Callable[[], None], Callable[[], None] | None]] = {
        "floor": _floor_variant(x, case.floor_passes, allocate=False),
        "alloc-floor": _floor_variant(x, case.floor_passes, allocate=True),
    }
    for variant in variants:
        timed[variant.name] = (variant.forward, variant.forward_backward if variant.has_backward else None)
    samples: dict[str, list[list[float]]] = {name: [[], []] for name in timed}
    calls: dict[str, list[int]] = {}
    for name, (fwd, fwdbwd) in timed.items():  # warm-up, then how many calls make one sample
        fwd()
        calls[name] = [calls_per_sample(fwd, device, SAMPLE_SECONDS, MOST_CALLS), 0]
        if fwdbwd is not None:
            fwdbwd()
            calls[name][1] = calls_per_sample(fwdbwd, device, SAMPLE_SECONDS, MOST_CALLS)
    for _ in range(repeats):
        for name, (fwd, _fwdbwd) in timed.items():
            samples[name][0].append(time_calls(fwd, device, calls[name][0]))
        for name, (_fwd, fwdbwd) in timed.items():
            if fwdbwd is not None:
                samples[name][1].append(time_calls(fwdbwd, device, calls[name][1]))
    input_mb = x.numel() * x.element_size() / 2**20
    results = []
    for name, (fwd_samples, fwdbwd_samples) in samples.items():
        fwdbwd = timed[name][1]
        peak = peak_extra_bytes(fwdbwd, device) / 2**20 if fwdbwd is not None and "floor" not in name else None
        results.append(
            Measurement(
                case=case.name,
                size=size,
                shape=shape,
                device=str(device),
                dtype=str(dtype).removeprefix("torch."),
                variant=name,
                forward_ms=1e3 * statistics.median(fwd_samples),
                forward_backward_ms=1e3 * statistics.median(fwdbwd_samples) if fwdbwd_samples else None,
                peak_extra_mb=peak,
                input_mb=input_mb,
                traffic_mb=2 * _floor_copies(case.floor_passes) * input_mb,
            )
        )
    return results


def as_dicts(measurements: Iterable[Measurement]) -> list[dict[str, object]]:
    return [asdict(m) for m in measurements]
