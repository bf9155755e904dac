"""The common grid of the kernel tests, and where their triton kernels run.

Every fused kernel is held to its readable reference over the same sequence lengths and
dtypes. Triton kernels run on triton's CPU interpreter unless
``SPIKELAYERS_TEST_DEVICE=cuda`` asks for a GPU; a test module calls
:func:`triton_test_device` before anything imports triton, since the interpreter is
chosen when triton is first imported.
"""

from __future__ import annotations

import os

import torch

KERNEL_TEST_STEPS: tuple[int, ...] = (1, 2, 7, 16)
"""Sequence lengths ``T``: a single step, the shortest recurrence, an odd one and a long one."""

KERNEL_TEST_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.bfloat16)
"""Input dtypes; the reference always runs in float32 on the same (rounded) inputs."""

_TOLERANCES = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 3e-2}


def kernel_tolerance(dtype: torch.dtype) -> float:
    """The relative and absolute tolerance of a kernel in ``dtype`` against the float32 reference."""
    try:
        return _TOLERANCES[dtype]
    except KeyError:
        raise ValueError(f"kernel_tolerance: no tolerance for {dtype}, expected one of {list(_TOLERANCES)}") from None


def triton_test_device() -> str:
    """The device of the triton kernel tests: ``SPIKELAYERS_TEST_DEVICE`` (default ``"cpu"``).

    On ``"cpu"`` this switches triton's interpreter on (``TRITON_INTERPRET=1``) for the
    rest of the process.
    """
    device = os.environ.get("SPIKELAYERS_TEST_DEVICE", "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"SPIKELAYERS_TEST_DEVICE must be 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        os.environ["TRITON_INTERPRET"] = "1"
    return device
