"""Build the layer catalogue page from the plugin registry at documentation build time."""

from __future__ import annotations

import inspect
from pathlib import Path

from spikelayers.cli import describe_plugins
from spikelayers.plugins import get_registry, load_target


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first.replace("|", "\\|") or "-"


def rows() -> list[tuple[str, str, str, str, str, str]]:
    """(namespace, name, distribution, step modes, backends, summary) per installed name."""
    registry = get_registry()
    found = []
    for plugin in describe_plugins():
        for namespace, entries in plugin["provides"].items():
            for entry in entries:
                target = registry.targets[namespace][entry["name"]]
                obj = load_target(target)
                module = target.partition(":")[0]
                found.append(
                    (
                        namespace,
                        f":class:`{entry['name']} <{module}.{target.partition(':')[2]}>`",
                        plugin["distribution"] or plugin["plugin"],
                        ", ".join(entry.get("step_modes", [])) or "-",
                        ", ".join(entry.get("backends", [])) or "-",
                        _summary(obj),
                    )
                )
    return sorted(found)


def write_catalogue(path: Path) -> None:
    lines = [
        "Layer catalogue",
        "===============",
        "",
        "Every name the installed plugins provide, generated from the plugin registry when",
        "these pages were built (``spikelayers plugins`` prints the same for your install).",
        "",
    ]
    table = rows()
    for namespace in ("layer", "neuron", "surrogate"):
        entries = [row for row in table if row[0] == namespace]
        if not entries:
            continue
        title = f"``spikelayers.{namespace}``"
        lines += [
            title,
            "-" * len(title),
            "",
            f".. list-table:: {len(entries)} names",
            "   :header-rows: 1",
            "   :widths: 20 15 8 10 47",
            "",
        ]
        lines += ["   * - Name", "     - Distribution", "     - Step modes", "     - Backends", "     - Summary"]
        for _, name, dist, modes, backends, summary in entries:
            lines += [f"   * - {name}", f"     - {dist}", f"     - {modes}", f"     - {backends}", f"     - {summary}"]
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
