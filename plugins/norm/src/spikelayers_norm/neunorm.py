"""NeuNorm: subtracts a learnable map times a running average of the channel sum.

Per step, with input ``s`` ``[N, C, H, W]`` and memory ``x`` ``[N, 1, H, W]`` (0 after
a reset)::

    x <- k * x + (1 - k) / C**2 * s.sum(dim=1, keepdim=True)
    y  = s - w * x

Multi-step mode reduces the channel sums of all steps at once, runs the recurrence on
the small ``[T, N, 1, H, W]`` state and writes the output in one pass.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from spikelayers.base import MemoryModule
from spikelayers.kernels import get_kernel, prepare, reference_under_torch_func
from spikelayers.shapes import common_dtype, floating_input

from ._layout import LAYOUT_2D

OP = "norm.neunorm"


def neunorm_reference(
    s_seq: torch.Tensor, x: torch.Tensor, w: torch.Tensor, k: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The documented formula, one step at a time (the plain reference).

    Args:
        s_seq: input ``[T, N, C, H, W]``.
        x: memory before the first step, ``[N, 1, H, W]``.
        w: weight ``[C, H, W]`` or ``[1, H, W]``.
        k: momentum of the running average.

    Returns:
        The output ``[T, N, C, H, W]`` and the memory after the last step.
    """
    a = (1.0 - k) / s_seq.shape[2] ** 2
    outputs = []
    for s in s_seq:
        x = k * x + a * s.sum(dim=1, keepdim=True)
        outputs.append(s - w * x)
    return torch.stack(outputs), x


def _channel_sum(s: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W] -> [B, 1, H, W]``, the sum over channels as one batched matrix product."""
    B, C, H, W = s.shape
    ones = torch.ones(1, C, dtype=s.dtype, device=s.device)
    return torch.matmul(ones, s.reshape(B, C, H * W)).view(B, 1, H, W)


class _NeuNormMultiStep(torch.autograd.Function):
    """Forward: one channel-sum read of the input, the recurrence on ``[T, N, 1, H, W]``,
    one output pass. Backward: one pass over the output gradient per step into a reused
    one-step buffer for the reductions, and one pass writing the input gradient."""

    @staticmethod
    def forward(
        ctx: Any, s_seq: torch.Tensor, x: torch.Tensor, w: torch.Tensor, k: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T, N, C, H, W = s_seq.shape
        a = (1.0 - k) / C**2
        drive = _channel_sum(s_seq.reshape(T * N, C, H, W)).view(T, N, 1, H, W)
        x_seq = torch.empty_like(drive)
        for t in range(T):
            x = drive[t] * a + k * x
            x_seq[t] = x
        ctx.save_for_backward(x_seq, w)
        ctx.k = k
        ctx.a = a
        return torch.addcmul(s_seq, x_seq, w, value=-1.0), x.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_y: torch.Tensor, grad_last: torch.Tensor) -> tuple[Any, ...]:
        x_seq, w = ctx.saved_tensors
        k, a = ctx.k, ctx.a
        T, N, C = grad_y.shape[:3]
        buffer = torch.empty(grad_y.shape[1:], dtype=grad_y.dtype, device=grad_y.device)
        grad_x_seq = torch.empty_like(x_seq)
        grad_w = torch.zeros((N, *w.shape), dtype=w.dtype, device=w.device)
        for t in range(T):
            torch.mul(grad_y[t], w, out=buffer)
            grad_x_seq[t] = _channel_sum(buffer).neg_()
            torch.mul(grad_y[t], x_seq[t], out=buffer)
            grad_w.sub_(buffer if w.shape[0] == C else _channel_sum(buffer))
        # Recurrence x[t] = k * x[t-1] + a * sum_c s[t], run backwards on the small state.
        grad_drive = torch.empty_like(x_seq)
        acc = grad_last
        for t in reversed(range(T)):
            acc = acc + grad_x_seq[t]
            grad_drive[t] = acc
            acc = acc * k
        grad_s = None
        if ctx.needs_input_grad[0]:
            grad_s = torch.add(grad_y, grad_drive, alpha=a)
        return grad_s, acc, grad_w.sum(0), None


@reference_under_torch_func(neunorm_reference)
def neunorm_multi_step(
    s_seq: torch.Tensor, x: torch.Tensor, w: torch.Tensor, k: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same result as :func:`neunorm_reference` (outputs, final memory, gradients) with
    no full-size temporaries: see :class:`_NeuNormMultiStep`. Under a :mod:`torch.func`
    transform the reference runs instead."""
    x = x.expand(s_seq.shape[1], 1, *s_seq.shape[3:])
    return _NeuNormMultiStep.apply(s_seq, x, w, k)


class NeuNorm(MemoryModule):
    """NeuNorm, for the spikes of a convolutional layer, ``[N, C, H, W]`` per step.

    Memory ``x`` ``[N, 1, H, W]`` (0 after reset):
    ``x <- k*x + (1-k)/C**2 * s.sum(dim=1, keepdim=True)``; output ``s - w*x``.

    Multi-step mode runs the whole sequence as one fused autograd function (kernel op
    ``"norm.neunorm"``, backends ``'torch'`` and ``'triton'``; the triton kernels take
    float32, bfloat16 and float16). Single-step mode is plain PyTorch on every backend.

    Args:
        in_channels: number of channels ``C``.
        height, width: spatial size ``H, W`` of the input.
        k: momentum of the running average of the channel sum.
        shared_across_channels: one weight map ``[1, H, W]`` for all channels instead of
            ``[C, H, W]``.
        step_mode: ``'s'`` (``[N, C, H, W]``) or ``'m'`` (``[T, N, C, H, W]``).
    """

    supported_backends = ("torch", "triton")

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        k: float = 0.9,
        shared_across_channels: bool = False,
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.k = k
        self.shared_across_channels = shared_across_channels
        self.w = nn.Parameter(torch.empty(1 if shared_across_channels else in_channels, height, width))
        nn.init.kaiming_uniform_(self.w, a=math.sqrt(5))
        self.register_memory("x", 0.0)
        self.step_mode = step_mode
        prepare(OP, self.backend)  # import the kernels now, not in the first (maybe compiled) forward

    def _check(self, s: torch.Tensor, multi_step: bool) -> None:
        LAYOUT_2D.check(self, s, multi_step, self.in_channels)
        if tuple(s.shape[-2:]) != tuple(self.w.shape[-2:]):
            raise ValueError(
                f"{type(self).__name__} (step_mode={self.step_mode!r}) expects height and width "
                f"{tuple(self.w.shape[-2:])}, got input shape {tuple(s.shape)}"
            )

    def _prepare(self, s: torch.Tensor, multi_step: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Check the input, then bring input, memory and weight to one floating dtype.

        Integer or boolean spikes become floats; a memory or weight of another floating
        dtype is promoted as torch ops promote. Nothing is stored, so a call that raises
        here leaves the state as it was.
        """
        self._check(s, multi_step)
        s = floating_input(self, s, self.w)
        memory = self._memories["x"]
        dtype = common_dtype(s, self.w, memory if isinstance(memory, torch.Tensor) else None)
        s = s.to(dtype)
        step = s[0] if multi_step else s
        batch = s.shape[1] if multi_step else s.shape[0]
        x = self.memory_like("x", step, (batch, 1, *s.shape[-2:]), store=False).to(dtype)
        return s, x, self.w.to(dtype)

    def single_step_forward(self, s: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W] -> [N, C, H, W]``; ``bool``/integer spikes give the float result."""
        s, x, w = self._prepare(s, False)
        x = self.k * x + (1.0 - self.k) / self.in_channels**2 * s.sum(dim=1, keepdim=True)
        self.x = x
        return s - w * x

    def multi_step_forward(self, s_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W] -> [T, N, C, H, W]``; an empty sequence changes no state."""
        self._check(s_seq, True)
        if s_seq.shape[0] == 0:
            return s_seq.new_empty(s_seq.shape, dtype=common_dtype(s_seq, self.w))
        kernel = get_kernel(OP, self.backend, s_seq.device)  # first: a backend that cannot run changes no state
        s_seq, x, w = self._prepare(s_seq, True)
        y_seq, self.x = kernel(s_seq, x, w, self.k)
        return y_seq

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, k={self.k}, "
            f"shared_across_channels={self.shared_across_channels}, {super().extra_repr()}"
        )
