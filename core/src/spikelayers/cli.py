"""The ``spikelayers`` command line; plugins add subcommands through a hook."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand the installed plugins add."""
    from .plugins import get_plugin_manager

    parser = argparse.ArgumentParser(prog="spikelayers", description="Spiking-neural-network layers for PyTorch.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    get_plugin_manager().hook.spikelayers_add_commands(subparsers=subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    code = handler(args)
    return 0 if code is None else int(code)


def add_plugins_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plugins", help="list the installed plugins and what they provide")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=_run_plugins)


def describe_plugins() -> list[dict[str, Any]]:
    """Each installed plugin: name, distribution, version, names per namespace (with
    their step modes and kernel backends) and the ops it contributes kernels for."""
    import torch

    from .kernels import backend_unavailable_reason
    from .plugins import get_plugin_manager, get_registry, load_target

    registry = get_registry()
    manager = get_plugin_manager()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    kernels_by_plugin: dict[str, dict[str, list[str]]] = {}
    for impl in manager.hook.spikelayers_kernels.get_hookimpls():
        for spec in impl.function() or ():
            kernels_by_plugin.setdefault(impl.plugin_name, {}).setdefault(spec.op, []).append(spec.backend)
    described = []
    for info in registry.plugins.values():
        namespaces: dict[str, list[dict[str, Any]]] = {}
        for namespace, names in sorted(info.provides.items()):
            entries = []
            for public_name, target in sorted(names.items()):
                entry: dict[str, Any] = {"name": public_name}
                try:
                    obj = load_target(target)
                except Exception as error:  # a broken plugin must not hide the others
                    entry["error"] = f"{type(error).__name__}: {error}"
                else:
                    modes = getattr(obj, "step_modes", None)
                    if modes is not None:
                        entry["step_modes"] = list(modes)
                    backends = getattr(obj, "supported_backends", None)
                    if isinstance(backends, (tuple, list)):
                        entry["backends"] = list(backends)
                entries.append(entry)
            namespaces[namespace] = entries
        kernels = {
            op: {b: backend_unavailable_reason(b, device) is None for b in backends}
            for op, backends in sorted(kernels_by_plugin.get(info.name, {}).items())
        }
        described.append(
            {
                "plugin": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "provides": namespaces,
                "kernels": kernels,
            }
        )
    return described


def _run_plugins(args: argparse.Namespace) -> int:
    described = describe_plugins()
    if args.json:
        json.dump(described, sys.stdout, indent=2)
        print()
        return 0
    for plugin in described:
        dist = plugin["distribution"] or "(not from a distribution)"
        print(f"{plugin['plugin']}  {dist} {plugin['version'] or ''}".rstrip())
        for namespace, entries in plugin["provides"].items():
            print(f"  {namespace}:")
            for entry in entries:
                if "error" in entry:
                    print(f"    {entry['name']:<34} failed to import: {entry['error']}")
                    continue
                modes = ",".join(entry.get("step_modes", [])) or "-"
                backends = ",".join(entry.get("backends", [])) or "-"
                print(f"    {entry['name']:<34} step modes: {modes:<4} backends: {backends}")
        if plugin["kernels"]:
            print("  kernels:")
            for op, backends in plugin["kernels"].items():
                shown = ", ".join(f"{b} ({'available' if ok else 'unavailable here'})" for b, ok in backends.items())
                print(f"    {op:<34} {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
