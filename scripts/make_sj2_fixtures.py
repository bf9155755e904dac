"""Record SpikingJelly 2.0.0's layers into the small fixtures our tests load.

Run in a test-only environment that has ``spikingjelly==2.0.0`` (and torch from
``constraints.txt``) besides spikelayers::

    python scripts/make_sj2_fixtures.py

For each case it builds the SpikingJelly layer in float64 with non-trivial parameters
and statistics, makes a few calls, and saves the ``state_dict``, the inputs and what came
out (see :mod:`spikelayers.testing.reference_fixtures`) to ``<distribution>/tests/fixtures/sj2.pt``.
The tests build our layer from the recorded ``class``, ``args`` and ``kwargs`` (the
containers from their recorded ``children`` recipe), load the ``state_dict`` strictly and
compare everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from spikelayers.testing.reference_fixtures import record

ROOT = Path(__file__).resolve().parents[1]


def randomise(module: nn.Module, seed: int, shift: float = 0.0) -> nn.Module:
    """Float64, random weights, and batch-norm parameters and statistics away from their defaults.

    ``shift`` moves the batch-norm biases up, so that the neurons behind them fire often.
    """
    torch.manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.modules.batchnorm._NormBase):
                if sub.weight is not None:
                    sub.weight.uniform_(0.5, 1.5)
                if sub.bias is not None:
                    sub.bias.normal_(shift, 0.3)
                if sub.running_mean is not None:
                    sub.running_mean.normal_(0.0, 0.5)
                    sub.running_var.uniform_(0.5, 2.0)
                    sub.num_batches_tracked.fill_(3)
    return module


def gaussian(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def spikes(seed: int, *shape: int, p: float = 0.4) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p).double()


def case(layer_module: Any, name: str, args: tuple, kwargs: dict, calls: list, train: bool, shift: float = 0.0) -> dict:
    module = randomise(getattr(layer_module, name)(*args, **kwargs), seed=0, shift=shift)
    return {"class": name, "args": args, "kwargs": kwargs, **record(module, calls, train)}


def norm_cases(sj: Any) -> dict[str, dict]:
    cases = {}
    for dims, spatial in ((1, ()), (1, (5,)), (2, (3, 4)), (3, (2, 3, 2))):
        name = f"BatchNormThroughTime{dims}d"
        tag = f"{name}-{len(spatial)}"
        seq = gaussian(dims, 4, 3, 2, *spatial, scale=2.0) + 0.5
        cases[f"{tag}-m-train"] = case(sj, name, (4, 2), {"step_mode": "m"}, [(seq[:3],), (seq[3:],)], True)
        cases[f"{tag}-s-train"] = case(sj, name, (4, 2), {}, [(step,) for step in seq], True)
        cases[f"{tag}-m-eval"] = case(sj, name, (4, 2), {"step_mode": "m"}, [(seq,)], False)
    seq = gaussian(7, 3, 4, 2, 3, 3)
    kwargs = {"momentum": None, "affine": False, "step_mode": "m"}
    cases["BatchNormThroughTime2d-cumulative"] = case(sj, "BatchNormThroughTime2d", (3, 2), kwargs, [(seq,)], True)
    kwargs = {"eps": 0.1, "momentum": 0.3, "track_running_stats": False, "step_mode": "m"}
    cases["BatchNormThroughTime2d-untracked"] = case(sj, "BatchNormThroughTime2d", (3, 2), kwargs, [(seq,)], False)
    return cases


def stateless_cases(sj: Any) -> dict[str, dict]:
    cases = {}
    for dims, spatial in ((1, (6,)), (2, (4, 6)), (3, (2, 4, 4))):
        x = gaussian(dims, 3, 2, 2, *spatial)
        pool = getattr(nn.functional, f"max_pool{dims}d")
        pooled, indices = pool(x.flatten(0, 1), 2, return_indices=True)
        pooled, indices = pooled.unflatten(0, (3, 2)), indices.unflatten(0, (3, 2))
        name = f"MaxUnpool{dims}d"
        cases[f"{name}-m"] = case(sj, name, (2,), {"step_mode": "m"}, [(pooled, indices)], True)
        cases[f"{name}-s"] = case(sj, name, (2,), {}, [(pooled[0], indices[0])], True)
    return cases


def synapse_cases(sj: Any) -> dict[str, dict]:
    counts = torch.randint(0, 4, (3, 2, 5), generator=torch.Generator().manual_seed(0)).double()
    slots = spikes(1, 7, 2, 5)
    return {
        "SpikeCountToBinary": case(sj, "SpikeCountToBinary", (3,), {"always_convert": True}, [(counts,)], True),
        "SpikeCountToBinary-eval": case(sj, "SpikeCountToBinary", (2,), {}, [(counts.clamp(max=2),)], False),
        "TemporalBinSum": case(sj, "TemporalBinSum", (3,), {"always_convert": True}, [(slots,)], True),
        "TemporalBinSum-eval": case(sj, "TemporalBinSum", (2,), {}, [(slots,)], False),
    }


def transformer_cases(sj: Any) -> dict[str, dict]:
    tokens = spikes(0, 3, 2, 8, 5)
    images = gaussian(1, 3, 2, 8, 3, 3, scale=3.0)
    cases = {}
    for name in ("SpikingSelfAttention", "QKAttention", "TokenQKAttention", "ChannelQKAttention"):
        cases[name] = case(sj, name, (8, 2), {}, [(tokens,), (tokens,)], True, shift=1.5)
    channel = {"qka_type": "channel"}
    cases["QKAttention-channel"] = case(sj, "QKAttention", (8, 4), channel, [(tokens,)], True, shift=1.5)
    ssa = "SpikingSelfAttention"
    cases[f"{ssa}-eval"] = case(sj, ssa, (8, 4), {"v_threshold": 0.7}, [(tokens,)], False, shift=1.0)
    sdsa = "SpikeDrivenSelfAttention"
    cases[sdsa] = case(sj, sdsa, (8, 2), {}, [(images,), (images,)], True, shift=1.5)
    cases[f"{sdsa}-eval"] = case(sj, sdsa, (8, 4), {}, [(images,)], False, shift=1.5)
    return cases


def container_cases(sj: Any) -> dict[str, dict]:
    x = gaussian(0, 4, 3, 5)  # [N, C, T]
    torch.manual_seed(0)
    multi = randomise(sj.TLastMultiStepContainer(nn.Linear(3, 2), nn.BatchNorm1d(2)), 0)
    seq_to_ann = randomise(sj.TLastSeqToANNContainer(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Flatten(0)), 0)
    return {
        "TLastMultiStepContainer": {
            "class": "TLastMultiStepContainer",
            "children": "linear-3-2,batchnorm1d-2",
            **record(multi, [(x[..., :2],), (x[..., 2:],)], True),
        },
        "TLastSeqToANNContainer": {
            "class": "TLastSeqToANNContainer",
            "children": "linear-3-2,batchnorm1d-2,flatten-0",
            **record(seq_to_ann, [(x,)], False),
        },
    }


def main() -> None:
    from spikingjelly.activation_based import layer as sj

    targets = {
        "core/tests/fixtures/sj2.pt": container_cases,
        "plugins/norm/tests/fixtures/sj2.pt": norm_cases,
        "plugins/stateless/tests/fixtures/sj2.pt": stateless_cases,
        "plugins/synapse/tests/fixtures/sj2.pt": synapse_cases,
        "plugins/transformer/tests/fixtures/sj2.pt": transformer_cases,
    }
    for path, build in targets.items():
        cases = build(sj)
        torch.save(cases, ROOT / path)
        print(f"{path}: {len(cases)} cases, {(ROOT / path).stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
