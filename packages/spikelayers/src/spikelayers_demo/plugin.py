"""Adds the ``demo`` subcommand to the ``spikelayers`` command line."""

from __future__ import annotations

import argparse

from spikelayers.hookspecs import hookimpl


@hookimpl
def spikelayers_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from .cli import add_demo_command

    add_demo_command(subparsers)


@hookimpl
def spikelayers_bench_cases() -> list:
    from .bench import bench_cases

    return bench_cases()
