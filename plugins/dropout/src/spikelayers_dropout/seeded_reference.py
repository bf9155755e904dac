"""Dropout masks drawn from a seed: the readable PyTorch definition.

A seeded mask is never stored. Element ``i`` of a mask is kept when the uniform number
``u(seed, i)`` is at least ``p``, and kept elements are scaled by ``1 / (1 - p)``.
``u`` is the counter-based generator that triton's ``tl.rand`` draws: Philox-4x32 with
10 rounds (Salmon et al., *Parallel random numbers: as easy as 1, 2, 3*, SC 2011), keyed
by the 64-bit seed, with the counter ``(i, 0, 0, 0)``; its first output word, read as a
signed 32-bit integer ``w``, maps to ``max(w, -w - 1) * 4.6566127342e-10`` in float32.
So this module computes, with integer tensor ops in int64, exactly the masks that the
triton kernel (:mod:`spikelayers_dropout.triton_kernel`) regenerates in registers in
its forward and again in its backward.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF
_ROUND_A = 0xD2511F53
_ROUND_B = 0xCD9E8D57
_KEY_A = 0x9E3779B9
_KEY_B = 0xBB67AE85
_UNIFORM_SCALE = 4.6566127342e-10
ROUNDS = 10
SEED_LIMIT = 2**63
"""Seeds are integers in ``[0, 2**63)``."""


def _multiply_32(constant: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The high and low 32-bit words of ``constant * x`` for 32-bit ``constant`` and ``x`` (int64 holding uint32).

    ``x`` is split into 16-bit halves so that no partial product leaves the int64 range.
    """
    low_half, high_half = x & 0xFFFF, x >> 16
    low_product = low_half * constant  # < 2**48
    high_product = high_half * constant  # < 2**48
    high = (high_product + (low_product >> 16)) >> 16
    low = (((high_product & 0xFFFF) << 16) + low_product) & _MASK32
    return high, low


def philox_first_word(seed: int, counter: torch.Tensor, rounds: int = ROUNDS) -> torch.Tensor:
    """The first output word of Philox-4x32 for the counters ``(counter, 0, 0, 0)``.

    Args:
        seed: the key, an integer in ``[0, 2**63)`` (low and high 32-bit words).
        counter: int64 tensor of values in ``[0, 2**32)``, any shape.

    Returns:
        int64 tensor of values in ``[0, 2**32)``, shaped like ``counter``.
    """
    c0 = counter.to(torch.int64)
    c1 = torch.zeros_like(c0)
    c2 = torch.zeros_like(c0)
    c3 = torch.zeros_like(c0)
    k0, k1 = seed & _MASK32, (seed >> 32) & _MASK32
    for _ in range(rounds):
        high_b, low_b = _multiply_32(_ROUND_B, c2)
        high_a, low_a = _multiply_32(_ROUND_A, c0)
        c0, c1, c2, c3 = high_b ^ c1 ^ k0, low_b, high_a ^ c3 ^ k1, low_a
        k0, k1 = (k0 + _KEY_A) & _MASK32, (k1 + _KEY_B) & _MASK32
    return c0


def philox_uniform(seed: int, counter: torch.Tensor) -> torch.Tensor:
    """Uniform float32 numbers in ``[0, 1)``, one per counter (the numbers ``tl.rand`` draws)."""
    word = philox_first_word(seed, counter)
    signed = torch.where(word >= 2**31, word - 2**32, word)
    magnitude = torch.where(signed < 0, -signed - 1, signed)
    return magnitude.to(torch.float32) * torch.tensor(_UNIFORM_SCALE, dtype=torch.float32)


def check_seed(seed: int) -> int:
    """``seed`` as an int, or a ``ValueError`` when it is outside ``[0, 2**63)``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seeded dropout: seed must be an int in [0, 2**63), got {seed!r}")
    return seed


def check_group(x_seq: torch.Tensor, group: int) -> int:
    """The number of elements of one step of ``x_seq`` ``[T, *step]``, which ``group`` must divide."""
    step_numel = x_seq[0].numel() if x_seq.shape[0] else 0
    if group < 1 or (step_numel and step_numel % group):
        raise ValueError(f"seeded dropout: group must divide the step's {step_numel} elements, got {group}")
    return step_numel


def seeded_keep_mask(seed: int, numel: int, p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """The boolean mask ``[numel]`` of kept elements: ``u(seed, i) >= p``."""
    counter = torch.arange(numel, dtype=torch.int64, device=device)
    return philox_uniform(check_seed(seed), counter) >= torch.tensor(p, dtype=torch.float32)


def seeded_dropout_reference(x_seq: torch.Tensor, seed: int, p: float, group: int = 1) -> torch.Tensor:
    """Seeded dropout of a sequence, the plain way: build the mask, then multiply.

    Args:
        x_seq: input ``[T, *step]``; every step is multiplied by the same mask.
        seed: the mask's seed, in ``[0, 2**63)``.
        p: probability of an element to be zeroed, ``0 <= p < 1``.
        group: consecutive elements of a step that share one mask element: 1 for
            elementwise dropout, the spatial size for channel dropout
            (``[N, C, *spatial]`` steps).

    Returns:
        ``x_seq * mask / (1 - p)``, ``[T, *step]``, computed in float32 and returned in
        ``x_seq``'s dtype.
    """
    step_numel = check_group(x_seq, group)
    keep = seeded_keep_mask(seed, step_numel // group, p, x_seq.device)
    mask = keep.to(torch.float32).repeat_interleave(group) * (1.0 / (1.0 - p))
    return (x_seq.float() * mask.view(x_seq.shape[1:])).to(x_seq.dtype)
