"""Benchmark case: the demo network's single-step inference, onnxruntime vs eager PyTorch.

Both variants stream a sequence ``[T, N, 1, 8, 8]`` of 8-bit pixel intensities
(``0..16``, the digits' scale) one step at a time from the initial state:

- ``spikelayers``: the (untrained) :class:`~spikelayers_demo.model.DigitsSNN` in
  single-step mode, eval, in PyTorch;
- ``baseline``: the same network exported with :func:`spikelayers.export.to_onnx` and
  run in onnxruntime on the CPU, the memories carried from step to step.

The input is integer, so only inference is timed. Size ``small`` streams one sample
(its time is the time per sample), ``large`` a batch of 64.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import nn

from spikelayers.benchmarks import BenchCase

T = 4
SHAPES = {"small": (T, 1, 1, 8, 8), "large": (T, 64, 1, 8, 8)}
PIXEL_LEVELS = 16.0


def pixel_steps(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Random 8-bit intensities ``0..16`` repeated over time, ``[T, N, 1, 8, 8]`` (uint8)."""
    image = torch.randint(0, int(PIXEL_LEVELS) + 1, shape[1:], dtype=torch.uint8)
    return image.expand(shape).contiguous().to(device)


def demo_network() -> nn.Module:
    """The demo network with fixed random weights, in eval mode."""
    from .model import DigitsSNN

    torch.manual_seed(0)
    return DigitsSNN().eval()


class EagerDigits(nn.Module):
    """One step of eager inference: ``[N, 1, 8, 8]`` uint8 -> readout ``[N, 10]``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = demo_network()

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels.to(torch.float32) / PIXEL_LEVELS)


class OnnxRuntimeDigits(nn.Module):
    """The demo network as a single-step ONNX model in onnxruntime, streamed over a
    sequence: ``[T, N, 1, 8, 8]`` uint8 -> readouts ``[T, N, 10]``. Exported on the first
    call for that batch size."""

    def __init__(self) -> None:
        super().__init__()
        self.net = demo_network()
        self._folder = tempfile.TemporaryDirectory(prefix="spikelayers-bench-")
        self._sessions: dict[int, object] = {}

    def _session(self, batch: int) -> object:
        if batch not in self._sessions:
            from .deploy import StreamingSession, export_demo_network

            path = Path(self._folder.name) / f"digits-{batch}.onnx"
            signature = export_demo_network(self.net, path, batch)
            self._sessions[batch] = StreamingSession(path, signature, threads=torch.get_num_threads())
        return self._sessions[batch]

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        session = self._session(pixels.shape[1])
        x_seq = (pixels.cpu().to(torch.float32) / PIXEL_LEVELS).numpy()
        return torch.from_numpy(session.run_sequence(x_seq))


def bench_cases() -> list[BenchCase]:
    """The onnxruntime case, when onnx, onnxscript and onnxruntime are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return []
    return [
        BenchCase(
            name="DigitsSNN streamed, baseline=ORT",
            factory=EagerDigits,
            shapes=SHAPES,
            input_fn=pixel_steps,
            baseline=OnnxRuntimeDigits,
            reference=False,
            step_mode="s",
            tags=("demo", "onnx"),
        )
    ]
