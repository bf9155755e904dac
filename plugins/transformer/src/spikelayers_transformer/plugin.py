"""The hooks of the transformer plugin (strings only; nothing heavy is imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikelayers.hookspecs import hookimpl

if TYPE_CHECKING:
    from spikelayers.benchmarks import BenchCase
    from spikelayers.testing import LayerCase

_LAYERS = {
    "SpikingSelfAttention": "ssa",
    "QKAttention": "qk",
    "TokenQKAttention": "qk",
    "ChannelQKAttention": "qk",
    "SpikeDrivenSelfAttention": "sdsa",
}


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {"layer": {name: f"spikelayers_transformer.{module}:{name}" for name, module in _LAYERS.items()}}


@hookimpl
def spikelayers_bench_cases() -> list[BenchCase]:
    from .bench import BENCH_CASES

    return list(BENCH_CASES)


@hookimpl
def spikelayers_conformance_cases() -> list[LayerCase]:
    from .cases import conformance_cases

    return conformance_cases()
