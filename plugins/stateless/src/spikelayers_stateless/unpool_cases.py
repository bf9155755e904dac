"""Conformance-kit and benchmark cases of the max-unpooling layers.

The kit feeds one tensor, while unpooling takes values and indices; each case therefore
wraps the unpooling layer in :class:`PoolThenUnpool`, which max-pools its input (with
indices) and unpools the result, in the same step mode as the layer.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from spikelayers.base import StepModule
from spikelayers.benchmarks import BenchCase
from spikelayers.testing import LayerCase

BENCH_SIZES: dict[str, tuple[int, ...]] = {"small": (8, 4, 16, 8, 8), "large": (8, 32, 64, 32, 32)}


class PoolThenUnpool(StepModule, nn.Module):
    """``[N, C, *]`` (``[T, N, C, *]`` in ``'m'``) max-pooled with indices, then unpooled by ``unpool``."""

    def __init__(self, unpool: nn.Module, dims: int) -> None:
        super().__init__()
        self.unpool = unpool
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = getattr(F, f"max_pool{self.dims}d")
        kernel = self.unpool.kernel_size
        if self.step_mode == "m" and x.dim() == self.dims + 3:
            values, indices = pool(x.flatten(0, 1), kernel, return_indices=True)
            values, indices = values.unflatten(0, x.shape[:2]), indices.unflatten(0, x.shape[:2])
        else:
            values, indices = pool(x, kernel, return_indices=True)
        return self.unpool(values, indices)


def _pool_then_unpool(dims: int, **kwargs: object) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from . import unpool

        return PoolThenUnpool(getattr(unpool, f"MaxUnpool{dims}d")(2, **kwargs), dims)

    return build


def conformance_cases() -> list[LayerCase]:
    return [
        LayerCase(_pool_then_unpool(1), (2, 3, 8), name="MaxUnpool1d", rank_checks=()),
        LayerCase(_pool_then_unpool(2), (2, 3, 4, 6), name="MaxUnpool2d", rank_checks=()),
        LayerCase(_pool_then_unpool(3), (2, 3, 4, 4, 2), name="MaxUnpool3d", rank_checks=()),
    ]


class PerStepMaxUnpool2d(nn.MaxUnpool2d):
    """Multi-step unpooling by one torch call per step (the plain transcription)."""

    def forward(self, x: torch.Tensor, indices: torch.Tensor, output_size=None) -> torch.Tensor:
        return torch.stack([super(PerStepMaxUnpool2d, self).forward(v, i, output_size) for v, i in zip(x, indices)])


def bench_cases() -> list[BenchCase]:
    return [
        BenchCase(  # named after the pair: a --compare library gets no (values, indices) input
            "MaxPool2d+MaxUnpool2d",
            _pool_then_unpool(2),
            BENCH_SIZES,
            reference=True,
            baseline=lambda: PoolThenUnpool(PerStepMaxUnpool2d(2), 2),
            args=(2,),
            tags=("stateless",),
        )
    ]
