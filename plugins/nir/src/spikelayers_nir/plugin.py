"""The hooks of spikelayers-nir (strings only; nothing heavy is imported here)."""

from __future__ import annotations

import argparse

from spikelayers.hookspecs import hookimpl


@hookimpl
def spikelayers_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from .cli import add_nir_command

    add_nir_command(subparsers)


@hookimpl
def spikelayers_nir_converters() -> dict[str, dict[str, str]]:
    return {
        "exporters": {
            "torch.nn:Identity": "spikelayers_nir.builtin:export_identity",
            "spikelayers_nir.modules:SumPool2d": "spikelayers_nir.builtin:export_sum_pool_2d",
            "spikelayers_nir.modules:Threshold": "spikelayers_nir.builtin:export_threshold",
        },
        "importers": {
            "SumPool2d": "spikelayers_nir.builtin:import_sum_pool_2d",
            "Threshold": "spikelayers_nir.builtin:import_threshold",
        },
    }
