"""The hooks of the weight-standardisation plugin (strings only; nothing heavy is imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spikelayers.hookspecs import hookimpl

if TYPE_CHECKING:
    from spikelayers.benchmarks import BenchCase
    from spikelayers.testing import LayerCase

LAYERS: dict[str, str] = {
    "WSConv2d": "spikelayers_ws.conv:WSConv2d",
    "WSLinear": "spikelayers_ws.linear:WSLinear",
}


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {"layer": dict(LAYERS)}


@hookimpl
def spikelayers_bench_cases() -> list[BenchCase]:
    from .bench import BENCH_CASES

    return list(BENCH_CASES)


@hookimpl
def spikelayers_conformance_cases() -> list[LayerCase]:
    from .cases import conformance_cases

    return conformance_cases()


@hookimpl
def spikelayers_nir_converters() -> dict[str, dict[str, str]]:
    return {
        "exporters": {
            "spikelayers_ws.conv:WSConv2d": "spikelayers_ws.nir_converters:export_ws_conv2d",
            "spikelayers_ws.linear:WSLinear": "spikelayers_ws.nir_converters:export_ws_linear",
        }
    }
