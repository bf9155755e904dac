"""Normalisation layers for spikelayers.

``BatchNorm1d/2d/3d`` and ``GroupNorm`` (torch layers that fold ``T`` into the batch in
multi-step mode), ``NeuNorm``, threshold-dependent BatchNorm (tdBN) and temporal
effective BatchNorm (TEBN). The classes are reached through ``spikelayers.layer``.
"""

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "NeuNorm",
    "TemporalEffectiveBatchNorm1d",
    "TemporalEffectiveBatchNorm2d",
    "TemporalEffectiveBatchNorm3d",
    "TemporalEffectiveBatchNormNd",
    "ThresholdDependentBatchNorm1d",
    "ThresholdDependentBatchNorm2d",
    "ThresholdDependentBatchNorm3d",
]


def __getattr__(name: str) -> object:
    from .plugin import _LAYERS

    module = _LAYERS.get(name)
    if module is None:
        raise AttributeError(f"module 'spikelayers_norm' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
