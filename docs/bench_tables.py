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
    ("forward_vs_spikelayers", "Fwd / ours"),
    ("forward_backward_vs_spikelayers", "Fwd+bwd / ours"),
    ("peak_extra_vs_input", "Peak extra / input"),
    ("forward_backward_gbps", "Fwd+bwd GB/s"),
)

# The results folders the performance page includes, and the implementations each table shows.
TABLES: dict[str, tuple[str, ...] | None] = {
    "cpu": None,
    "spikingjelly": ("spikelayers", "spikelayers[inductor]", "compare"),
    "gpu": None,
}

_RATIO_SUFFIX = ("floor", "ours", "input", "spikelayers")


def _cell(value: object, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value}{suffix}"


def _describe_run(meta: dict[str, object]) -> str:
    text = (
        f"Measured on **{meta['device_name']}** ({meta['device']}, {meta['threads']} threads, "
        f"torch {meta['torch']}, {meta['dtype']}, median of {meta['repeats']} alternated repetitions"
    )
    if meta.get("allocator"):
        text += f", allocator {meta['allocator']!r}"
    compared = meta.get("compare") or {}
    if isinstance(compared, dict) and compared:
        text += "; compared with " + ", ".join(f"``{name}`` {version}" for name, version in compared.items())
    return text + ")."


def render(path: Path, variants: tuple[str, ...] | None = None) -> str:
    """A list-table of one results file (only ``variants`` if given), preceded by what it was measured on."""
    report = json.loads(path.read_text())
    lines = [_describe_run(report["meta"]), "", ".. list-table::", "   :header-rows: 1", ""]
    lines.append("   * - " + "\n     - ".join(title for _, title in COLUMNS))
    for row in report["summary"]:
        if variants is not None and row["variant"] not in variants:
            continue
        cells = []
        for key, _ in COLUMNS:
            suffix = "x" if key.endswith(_RATIO_SUFFIX) else ""
            value = row.get(key)
            cells.append(_cell(" ".join(map(str, value)) if isinstance(value, list) else value, suffix))
        lines.append("   * - " + "\n     - ".join(cells))
    return "\n".join(lines) + "\n"


def _index(path: Path) -> dict[tuple[str, str, str], dict[str, object]]:
    if not path.exists():
        return {}
    return {(r["case"], r["size"], r["variant"]): r for r in json.loads(path.read_text())["summary"]}


def render_overview(cpu: Path, compared: Path, size: str) -> str:
    """One row per layer at ``size``: our forward+backward time and how many times longer the
    loop of single steps, the straightforward implementation and SpikingJelly take, and the
    same ratio for our ``'inductor'`` backend (below 1: faster than the default)."""
    ours_rows, other_rows = _index(cpu), _index(compared)
    header = (
        "Layer",
        "Ours fwd+bwd ms",
        "Loop of single steps",
        "Straightforward",
        "SpikingJelly",
        "Ours on 'inductor'",
        "Peak extra / input",
    )
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - " + "\n     - ".join(header)]
    for (case, row_size, variant), ours in ours_rows.items():
        if row_size != size or variant != "spikelayers":
            continue
        cells = [
            case,
            _cell(ours["forward_backward_ms"]),
            _cell((ours_rows.get((case, size, "reference")) or {}).get("forward_backward_vs_spikelayers"), "x"),
            _cell((ours_rows.get((case, size, "baseline")) or {}).get("forward_backward_vs_spikelayers"), "x"),
            _cell((other_rows.get((case, size, "compare")) or {}).get("forward_backward_vs_spikelayers"), "x"),
            _cell(
                (ours_rows.get((case, size, "spikelayers[inductor]")) or {}).get("forward_backward_vs_spikelayers"),
                "x",
            ),
            _cell(ours["peak_extra_vs_input"], "x"),
        ]
        lines.append("   * - " + "\n     - ".join(cells))
    return "\n".join(lines) + "\n"


def write_tables(source: Path, target: Path) -> None:
    """Write ``<name>.rst`` into ``target`` for every folder of :data:`TABLES`; a folder
    without ``bench.json`` gets a sentence saying that it has not been measured."""
    target.mkdir(parents=True, exist_ok=True)
    for name, variants in TABLES.items():
        results = source / name / "bench.json"
        if results.exists():
            text = render(results, variants)
        else:
            text = f"No results yet: ``docs/performance/{name}/bench.json`` has not been measured.\n"
        (target / f"{name}.rst").write_text(text)
    for size in ("small", "large"):
        overview = render_overview(source / "cpu" / "bench.json", source / "spikingjelly" / "bench.json", size)
        (target / f"cpu-overview-{size}.rst").write_text(overview)
