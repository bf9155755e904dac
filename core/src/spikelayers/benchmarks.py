"""What a plugin tells the benchmark runner about one of its layers.

A :class:`BenchCase` is plain data; the runner (``spikelayers bench``) times the layer
in multi-step mode against a loop of single steps on a deep copy (the plain
reference) and against a memory-copy floor, forward and forward+backward, at each size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn


def gaussian(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(shape, device=device, dtype=dtype)


def spikes(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return (torch.rand(shape, device=device) < 0.3).to(dtype)


@dataclass(frozen=True)
class BenchCase:
    """One layer configuration to benchmark.

    Args:
        name: shown in the report, e.g. ``"SynapseFilter"``.
        factory: builds the layer; the runner sets ``step_mode`` and the backend.
        shapes: size label (``"small"``, ``"large"``) -> input shape ``[T, N, *]``.
        input_fn: ``(shape, device, dtype) -> tensor``.
        floor_passes: how many input-sized tensors the forward must read plus write
            at least (2 for ``y = f(x)``); the floor copies that many bytes.
        reference: whether a loop of single steps on a copy is a meaningful reference
            (false for multi-step-only layers).
        backends: kernel backends to time besides the layer's default.
        baseline: optional second implementation (a factory) timed as ``"baseline"``,
            e.g. the straightforward transcription a fused path replaces.
        args, kwargs: the constructor arguments of the public class ``name``, so that the
            same layer can be built from another library with this API (``--compare``).
        tags: free-form labels for filtering.
        step_mode: ``'m'``, or ``'s'`` for a layer without a multi-step mode, which the
            runner then feeds one step at a time (and times no separate loop reference).
    """

    name: str
    factory: Callable[[], nn.Module]
    shapes: Mapping[str, tuple[int, ...]]
    input_fn: Callable[[tuple[int, ...], torch.device, torch.dtype], torch.Tensor] = gaussian
    floor_passes: int = 2
    reference: bool = True
    backends: tuple[str, ...] = ()
    baseline: Callable[[], nn.Module] | None = None
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)
    tags: tuple[str, ...] = field(default_factory=tuple)
    step_mode: str = "m"

    def __post_init__(self) -> None:
        if self.step_mode not in ("s", "m"):
            raise ValueError(f"BenchCase {self.name!r}: step_mode must be 's' or 'm', got {self.step_mode!r}")
