"""The ``spikelayers`` command line; plugins add subcommands through a hook.

``spikelayers plugins`` lists every installed plugin (broken ones included, with the
reason) and exits 0; ``spikelayers plugins --check`` exits 1 when a plugin is broken or
conflicting, a hook failed or a provided class fails to import, for the CI of plugin
authors. ``spikelayers --version``
prints the version of every installed spikelayers distribution.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from .plugins import BROKEN, CONFLICTING, ENTRY_POINT_GROUP, OK, Registry, get_registry, hook_results


def installed_versions() -> dict[str, str]:
    """``{distribution: version}`` of spikelayers-core, every distribution that registers
    a plugin, every other ``spikelayers*`` distribution, and torch."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        is_plugin = any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points)
        if is_plugin or name.lower().startswith("spikelayers"):
            found[name] = dist.version
    if "spikelayers-core" not in found:
        from . import __version__

        found["spikelayers-core"] = __version__
    with contextlib.suppress(metadata.PackageNotFoundError):
        found["torch"] = metadata.version("torch")
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        for name, version in installed_versions().items():
            print(f"{name} {version}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand the healthy plugins add.

    A plugin whose ``spikelayers_add_commands`` raises adds nothing; ``spikelayers
    plugins`` reports it.
    """
    parser = argparse.ArgumentParser(prog="spikelayers", description="Spiking-neural-network layers for PyTorch.")
    parser.add_argument(
        "--version", action=_VersionAction, help="print the version of every installed spikelayers distribution"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    hook_results("spikelayers_add_commands", subparsers=subparsers)
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
    parser = subparsers.add_parser("plugins", help="list the installed plugins, what they provide and their health")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a plugin is broken or conflicting or one of its hooks failed"
    )
    parser.set_defaults(handler=_run_plugins)


def _describe_names(names: dict[str, dict[str, str]]) -> dict[str, list[dict[str, Any]]]:
    from .targets import load_target

    namespaces: dict[str, list[dict[str, Any]]] = {}
    for namespace, entries_by_name in sorted(names.items()):
        entries = []
        for public_name, target in sorted(entries_by_name.items()):
            entry: dict[str, Any] = {"name": public_name}
            try:
                obj = load_target(target)
            except Exception as error:  # one broken module must not hide the others
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
    return namespaces


def _describe_kernels(registry: Registry, device: str) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """``{plugin: {op: {backend: {"available": bool, "why_not": str | None}}}}``."""
    from .kernels import backend_unavailable_reason, import_kernel, kernel_table

    table = kernel_table(registry)
    described: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for (op, backend), plugin in sorted(table.providers.items()):
        reason = backend_unavailable_reason(backend, device, table.triton_installed)
        if reason is None and import_kernel(op, backend, registry) is None:
            reason = "its module failed to import (see the hook failure above)"
        described.setdefault(plugin, {}).setdefault(op, {})[backend] = {"available": reason is None, "why_not": reason}
    return described


def describe_plugins() -> list[dict[str, Any]]:
    """Each installed plugin, sorted by name: status (``ok``, ``broken``, ``conflicting``,
    ``filtered``) and reason, distribution and version, names per namespace (with their
    step modes and kernel backends), kernels with why a backend cannot run here, and
    the hooks that failed after discovery."""
    import torch

    from .handlers import stateful_handlers

    registry = get_registry()
    stateful_handlers()  # collect now, so that a failing hook is reported below
    device = "cuda" if torch.cuda.is_available() else "cpu"
    kernels = _describe_kernels(registry, device)
    problems = registry.problems()
    described = []
    for info in registry.plugins.values():
        described.append(
            {
                "plugin": info.name,
                "status": info.status,
                "reason": info.reason,
                "distribution": info.distribution,
                "version": info.version,
                "entry_point": info.entry_point,
                "commands_only": info.commands_only,
                "provides": _describe_names(dict(info.provides)) if info.status == OK else {},
                "claims": {ns: sorted(names) for ns, names in info.provides.items()} if info.status != OK else {},
                "kernels": kernels.get(info.name, {}),
                "problems": [f"{p.hook}: {p.message}" for p in problems.get(info.name, [])],
            }
        )
    return described


def _unhealthy(described: list[dict[str, Any]]) -> list[str]:
    """Plugins that are broken or conflicting, had a hook fail, or name a class that fails to import."""
    return [
        p["plugin"]
        for p in described
        if p["status"] in (BROKEN, CONFLICTING)
        or p["problems"]
        or any("error" in entry for entries in p["provides"].values() for entry in entries)
    ]


def _print_plugin(plugin: dict[str, Any]) -> None:
    dist = plugin["distribution"] or "(not from a distribution)"
    status = "" if plugin["status"] == OK else f"  [{plugin['status'].upper()}]"
    print(f"{plugin['plugin']}  {dist} {plugin['version'] or ''}".rstrip() + status)
    if plugin["reason"]:
        print(f"  reason: {plugin['reason']}")
    for problem in plugin["problems"]:
        print(f"  hook failed: {problem}")
    if plugin["commands_only"]:
        print("  adds commands only")
    for namespace, entries in plugin["provides"].items():
        print(f"  {namespace}:")
        for entry in entries:
            if "error" in entry:
                print(f"    {entry['name']:<34} failed to import: {entry['error']}")
                continue
            modes = ",".join(entry.get("step_modes", [])) or "-"
            backends = ",".join(entry.get("backends", [])) or "-"
            print(f"    {entry['name']:<34} step modes: {modes:<4} backends: {backends}")
    for namespace, names in plugin["claims"].items():
        print(f"  {namespace} (not available): {', '.join(names)}")
    if plugin["kernels"]:
        print("  kernels:")
        for op, backends in plugin["kernels"].items():
            shown = "; ".join(
                f"{b} (available)" if state["available"] else f"{b} (unavailable here: {state['why_not']})"
                for b, state in backends.items()
            )
            print(f"    {op:<34} {shown}")


def _run_plugins(args: argparse.Namespace) -> int:
    described = describe_plugins()
    unhealthy = _unhealthy(described)
    if args.json:
        json.dump(described, sys.stdout, indent=2)
        print()
    else:
        for plugin in described:
            _print_plugin(plugin)
        registry = get_registry()
        if registry.unmatched:
            print(f"note: {registry.selection.describe()} names no installed plugin: {', '.join(registry.unmatched)}")
    if args.check and unhealthy:
        print(f"spikelayers plugins --check: unhealthy plugins: {', '.join(unhealthy)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
