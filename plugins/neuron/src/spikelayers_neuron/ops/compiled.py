"""How the ``'inductor'`` kernels run their functions: compiled by ``torch.compile``.

Each function is compiled once per process, for every number of neurons
(``dynamic=True``); its variants (configurations, ``T``, dtypes, which gradients are
needed) are compiled on first use and kept, TorchInductor's on-disk cache sparing later
processes the code generation. The loops are always parallel, with the number of threads
decided when they run (``cpp.dynamic_threads``): TorchInductor would otherwise decide from
the size of the first call, and a first call with few neurons would leave every later,
larger one on a single thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

RECOMPILE_LIMIT = 64
"""Compiled variants kept per function; past it a call runs the function uncompiled."""

INDUCTOR_OPTIONS = {"cpp.dynamic_threads": True}
"""TorchInductor settings of the compiled kernels."""


@functools.cache
def _compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    return torch.compile(function, fullgraph=True, dynamic=True, options=INDUCTOR_OPTIONS)


def run_compiled(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` through its compiled form (compiling this variant first if new)."""
    with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
        return _compiled(function)(*args)


def takes_compiled(x_seq: torch.Tensor) -> bool:
    """Whether a call over ``x_seq`` ``[T, N, *]`` may take a compiled kernel: CPU tensors,
    at least one step and two neurons, and no enclosing ``torch.compile`` (which fuses the
    PyTorch kernel itself). A single neuron is left to the PyTorch kernel: the compiled
    code, general in the number of neurons, would be compiled again for exactly one."""
    return (
        x_seq.device.type == "cpu" and x_seq.shape[0] > 0 and x_seq[0].numel() > 1 and not torch.compiler.is_compiling()
    )
