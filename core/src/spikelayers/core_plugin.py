"""The core's own contributions, registered through the same hooks as any plugin."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .testing import LayerCase


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    target = "spikelayers.containers:{}".format
    return {
        "layer": {
            name: target(name)
            for name in ("MultiStepContainer", "SeqToANNContainer", "StepModeContainer", "PrintShapeModule")
        }
        | {
            "TLastMultiStepContainer": "spikelayers.tlast:TLastMultiStepContainer",
            "TLastSeqToANNContainer": "spikelayers.tlast:TLastSeqToANNContainer",
        }
    }


@hookimpl
def spikelayers_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from .cli import add_plugins_command

    add_plugins_command(subparsers)


@hookimpl(specname="spikelayers_add_commands")
def add_export_command(subparsers: argparse._SubParsersAction) -> None:
    from .export_command import add_export_command as add

    add(subparsers)


@hookimpl(specname="spikelayers_conformance_cases")
def tlast_conformance_cases() -> list[LayerCase]:
    from .tlast_cases import conformance_cases

    return conformance_cases()
