"""How the process allocates CPU memory while the benchmarks run.

glibc serves allocations above its mmap threshold (at most 32 MiB) with fresh pages from
the kernel and hands them back on free, so on CPU every new large tensor costs page
faults, often several copies' worth of time, and how many depends on what was freed
before. That noise would drown the differences between implementations. With
``keep`` the runner asks glibc, once at start-up, to serve every allocation from its
heap and to keep freed memory, so a tensor freed by one repetition is reused by the
next, as PyTorch's caching allocator does on CUDA. The same effect, for any program::

    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 python train.py
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

ALLOCATORS = ("keep", "system")

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse; False where that is not possible (not Linux/glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**30))


def apply_allocator(choice: str) -> str:
    """Set the allocation policy ``choice`` (one of :data:`ALLOCATORS`); returns what is in force."""
    if choice not in ALLOCATORS:
        raise ValueError(f"spikelayers bench: allocator must be one of {ALLOCATORS}, got {choice!r}")
    if choice == "keep" and keep_freed_memory():
        return "keep"
    return "system"
