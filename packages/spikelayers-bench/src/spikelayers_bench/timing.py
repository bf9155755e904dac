"""Timing and peak-memory measurement of one callable."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_once(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds taken by one call of ``fn`` (device work included)."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def calls_per_sample(fn: Callable[[], object], device: torch.device, target_seconds: float, most: int) -> int:
    """How many back-to-back calls of ``fn`` make one timing sample of about ``target_seconds``
    (at least 1, at most ``most``), from the time of one call."""
    once = time_once(fn, device)
    return max(1, min(most, math.ceil(target_seconds / max(once, 1e-9))))


def time_calls(fn: Callable[[], object], device: torch.device, calls: int) -> float:
    """Seconds per call of ``fn`` over ``calls`` back-to-back calls (device work included)."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / calls


def peak_extra_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """The most memory ``fn`` held at once beyond what was allocated before it ran.

    CUDA: the allocator's peak statistic. CPU: the running sum, in time order, of the
    memory each profiled op allocated net of what it freed, plus the frees that happen
    between ops (a transient buffer allocated and freed inside one op is not seen).
    """
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return max(torch.cuda.max_memory_allocated(device) - before, 0)
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak
