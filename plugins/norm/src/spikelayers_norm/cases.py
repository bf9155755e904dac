"""Conformance-kit cases for the normalisation layers (built lazily by the plugin hook).

BatchNorm in training takes its statistics over the whole call: over ``N`` for one
step, over ``T`` and ``N`` together in ``'m'``. The two modes agree only in eval mode
(running statistics), so each BatchNorm has an eval case over both modes and a
training case in ``'m'``. Sizes are all different so that a missing or extra ``T``
dimension always shows up in the channel check.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikelayers.testing import LayerCase, spike_input


def _randomised(factory: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    """Wrap ``factory`` so that affine parameters, scales and running statistics are not trivial."""

    def build() -> nn.Module:
        layer = factory()
        with torch.no_grad():
            for module in layer.modules():
                if isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm)):
                    if getattr(module, "weight", None) is not None:
                        module.weight.uniform_(0.5, 1.5)
                        module.bias.normal_(0.0, 0.3)
                    if getattr(module, "running_mean", None) is not None:
                        module.running_mean.normal_(0.0, 0.5)
                        module.running_var.uniform_(0.5, 2.0)
            scale = getattr(layer, "scale", None)
            if isinstance(scale, nn.Parameter):
                scale.uniform_(0.5, 1.5)
        return layer

    return build


def conformance_cases() -> list[LayerCase]:
    from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm
    from .neunorm import NeuNorm
    from .tdbn import ThresholdDependentBatchNorm1d, ThresholdDependentBatchNorm2d, ThresholdDependentBatchNorm3d
    from .tebn import (
        TemporalEffectiveBatchNorm1d,
        TemporalEffectiveBatchNorm2d,
        TemporalEffectiveBatchNorm3d,
        TemporalEffectiveBatchNormNd,
    )

    cases: list[LayerCase] = []
    batch_norms = [
        ("BatchNorm1d", lambda: BatchNorm1d(3), (5, 3), ("m",)),
        ("BatchNorm1d-L", lambda: BatchNorm1d(3), (5, 3, 7), ("s",)),
        ("BatchNorm2d", lambda: BatchNorm2d(3), (5, 3, 6, 7), ("s", "m")),
        ("BatchNorm3d", lambda: BatchNorm3d(3), (5, 3, 2, 6, 7), ("s", "m")),
    ]
    for name, factory, shape, rank_checks in batch_norms:
        cases.append(LayerCase(_randomised(factory), shape, name=f"{name}-eval", train=False, rank_checks=rank_checks))
        cases.append(LayerCase(_randomised(factory), shape, name=f"{name}-train", step_modes=("m",), chunkable=False))
    cases.append(LayerCase(_randomised(lambda: GroupNorm(2, 6)), (5, 6, 3, 7), name="GroupNorm"))
    cases.append(LayerCase(lambda: NeuNorm(3, 6, 7), (5, 3, 6, 7), name="NeuNorm", input_fn=spike_input, T=5))
    cases.append(
        LayerCase(
            lambda: NeuNorm(3, 6, 7, k=0.6, shared_across_channels=True),
            (5, 3, 6, 7),
            name="NeuNorm-shared",
            input_fn=spike_input,
            T=5,
        )
    )
    tdbn = [
        ("ThresholdDependentBatchNorm1d", lambda: ThresholdDependentBatchNorm1d(1.0, 0.5, 3), (5, 3), ("m",)),
        ("ThresholdDependentBatchNorm1d-L", lambda: ThresholdDependentBatchNorm1d(1.0, 0.5, 3), (5, 3, 7), ()),
        ("ThresholdDependentBatchNorm2d", lambda: ThresholdDependentBatchNorm2d(0.7, 1.0, 3), (5, 3, 6, 7), ("m",)),
        (
            "ThresholdDependentBatchNorm3d",
            lambda: ThresholdDependentBatchNorm3d(1.0, 1.0, 3, momentum=None),
            (5, 3, 2, 6, 7),
            ("m",),
        ),
    ]
    for name, factory, shape, rank_checks in tdbn:
        cases.append(LayerCase(factory, shape, name=name, rank_checks=rank_checks, chunkable=False))
    tebn = [
        ("TemporalEffectiveBatchNorm1d", lambda: TemporalEffectiveBatchNorm1d(4, 3), (5, 3), ("m",)),
        ("TemporalEffectiveBatchNorm1d-L", lambda: TemporalEffectiveBatchNorm1d(4, 3), (5, 3, 7), ("s",)),
        ("TemporalEffectiveBatchNorm2d", lambda: TemporalEffectiveBatchNorm2d(4, 3), (5, 3, 6, 7), ("s", "m")),
        ("TemporalEffectiveBatchNorm3d", lambda: TemporalEffectiveBatchNorm3d(4, 3), (5, 3, 2, 6, 7), ("s", "m")),
        ("TemporalEffectiveBatchNormNd", lambda: TemporalEffectiveBatchNormNd(4, 3), (5, 3, 6, 7), ()),
    ]
    for name, factory, shape, rank_checks in tebn:
        common = {"T": 4, "chunkable": False}
        cases.append(
            LayerCase(_randomised(factory), shape, name=f"{name}-eval", train=False, rank_checks=rank_checks, **common)
        )
        cases.append(LayerCase(_randomised(factory), shape, name=f"{name}-train", step_modes=("m",), **common))
    return cases
