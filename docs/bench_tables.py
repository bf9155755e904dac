"""Render the committed benchmark results (``docs/performance/<name>/bench.json``) as tables."""

from __future__ import annotations

import json
from pathlib import Path

COLUMNS = (
    ("case", "Layer"),
    ("size", "Size"),
    ("variant", "Implementation"),
    ("forward_ms", "Forward ms"),
    ("forward_vs_floor", "Fwd / floor"),
    ("forward_backward_ms", "Fwd+bwd ms"),
    ("forward_backward_vs_floor", "Fwd+bwd / floor"),
    ("forward_backward_vs_alloc_floor", "Fwd+bwd / alloc floor"),
    ("forward_backward_vs_spikelayers", "Fwd+bwd / ours"),
    ("peak_extra_vs_input", "Peak extra / input"),
)


def _cell(value: object, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value}{suffix}"


def render(path: Path) -> str:
    """A list-table of one results file, preceded by what it was measured on."""
    report = json.loads(path.read_text())
    meta = report["meta"]
    lines = [
        f"Measured on **{meta['device_name']}** ({meta['device']}, {meta['threads']} threads, "
        f"torch {meta['torch']}, {meta['dtype']}, median of {meta['repeats']} alternated repetitions).",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    lines.append("   * - " + "\n     - ".join(title for _, title in COLUMNS))
    for row in report["summary"]:
        cells = []
        for key, _ in COLUMNS:
            suffix = "x" if key.endswith(("floor", "ours", "input", "spikelayers")) else ""
            value = row.get(key)
            cells.append(_cell(" ".join(map(str, value)) if isinstance(value, list) else value, suffix))
        lines.append("   * - " + "\n     - ".join(cells))
    return "\n".join(lines) + "\n"


def write_tables(source: Path, target: Path) -> None:
    """Write ``<name>.rst`` into ``target`` for every ``<name>/bench.json`` in ``source``."""
    target.mkdir(parents=True, exist_ok=True)
    for results in sorted(source.glob("*/bench.json")):
        (target / f"{results.parent.name}.rst").write_text(render(results))
