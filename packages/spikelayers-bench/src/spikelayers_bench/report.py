"""Turn measurements into ratios, a text table, JSON and a PNG chart."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from .runner import Measurement, as_dicts


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator in (None, 0):
        return None
    return numerator / denominator


def summarise(measurements: Iterable[Measurement]) -> list[dict[str, object]]:
    """One row per (case, size, variant) with its ratios to the floor and to ours."""
    groups: dict[tuple[str, str], dict[str, Measurement]] = defaultdict(dict)
    for m in measurements:
        groups[(m.case, m.size)][m.variant] = m
    rows = []
    for (case, size), variants in groups.items():
        floor = variants["floor"]
        alloc_floor = variants["alloc-floor"]
        ours = variants.get("spikelayers")
        for name, m in variants.items():
            if "floor" in name:
                continue
            rows.append(
                {
                    "case": case,
                    "size": size,
                    "shape": list(m.shape),
                    "device": m.device,
                    "variant": name,
                    "forward_ms": round(m.forward_ms, 3),
                    "forward_backward_ms": None if m.forward_backward_ms is None else round(m.forward_backward_ms, 3),
                    "forward_vs_floor": _round(_ratio(m.forward_ms, floor.forward_ms)),
                    "forward_backward_vs_floor": _round(_ratio(m.forward_backward_ms, floor.forward_backward_ms)),
                    "forward_vs_alloc_floor": _round(_ratio(m.forward_ms, alloc_floor.forward_ms)),
                    "forward_backward_vs_alloc_floor": _round(
                        _ratio(m.forward_backward_ms, alloc_floor.forward_backward_ms)
                    ),
                    "forward_vs_spikelayers": _round(_ratio(m.forward_ms, ours.forward_ms if ours else None)),
                    "forward_backward_vs_spikelayers": _round(
                        _ratio(m.forward_backward_ms, ours.forward_backward_ms if ours else None)
                    ),
                    "peak_extra_vs_input": _round(_ratio(m.peak_extra_mb, m.input_mb)),
                    "forward_gbps": _round(_bandwidth(m.traffic_mb, m.forward_ms)),
                    "forward_backward_gbps": _round(_bandwidth(2 * m.traffic_mb, m.forward_backward_ms)),
                }
            )
    return rows


def _bandwidth(traffic_mb: float, ms: float | None) -> float | None:
    """Effective bandwidth in GB/s: the bytes the op must move at least over its time."""
    if ms is None or ms <= 0:
        return None
    return traffic_mb * 2**20 / (ms * 1e-3) / 1e9


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _fmt(value: object, suffix: str = "") -> str:
    return "-" if value is None else f"{value}{suffix}"


def format_table(rows: list[dict[str, object]]) -> str:
    header = (
        f"{'case':<34} {'size':<6} {'variant':<20} {'fwd ms':>9} {'fwd/floor':>9} "
        f"{'f+b ms':>9} {'f+b/floor':>9} {'f+b/alloc':>9} {'f+b/ours':>9} {'peak/in':>8} {'f+b GB/s':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['case']:<34} {r['size']:<6} {r['variant']:<20} {_fmt(r['forward_ms']):>9} "
            f"{_fmt(r['forward_vs_floor'], 'x'):>9} {_fmt(r['forward_backward_ms']):>9} "
            f"{_fmt(r['forward_backward_vs_floor'], 'x'):>9} {_fmt(r['forward_backward_vs_alloc_floor'], 'x'):>9} "
            f"{_fmt(r['forward_backward_vs_spikelayers'], 'x'):>9} "
            f"{_fmt(r['peak_extra_vs_input'], 'x'):>8} {_fmt(r['forward_backward_gbps']):>9}"
        )
    return "\n".join(lines)


def write_json(
    path: Path, measurements: list[Measurement], rows: list[dict[str, object]], meta: dict[str, object]
) -> None:
    path.write_text(json.dumps({"meta": meta, "summary": rows, "measurements": as_dicts(measurements)}, indent=2))


def _variant_order(variant: str) -> tuple[int, str]:
    """Ours first, then its other backends, the other implementations, and the rest by name."""
    order = {"spikelayers": 0, "reference": 2, "baseline": 3, "compare": 4}
    return (1 if variant.startswith("spikelayers[") else order.get(variant, 5), variant)


def write_chart(path: Path, rows: list[dict[str, object]], title: str) -> bool:
    """Horizontal bars of forward+backward time over the copy floor, one panel per size,
    one group per layer; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = list(dict.fromkeys(str(r["size"]) for r in rows))
    variants = sorted({str(r["variant"]) for r in rows}, key=_variant_order)
    cases_of = {size: sorted({str(r["case"]) for r in rows if r["size"] == size}, reverse=True) for size in sizes}
    height = 0.8 / max(len(variants), 1)
    tallest = max(len(cases) for cases in cases_of.values())
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(6 * len(sizes), 0.16 * tallest * max(len(variants), 2) + 1.5), squeeze=False
    )
    for ax, size in zip(axes[0], sizes):
        cases = cases_of[size]
        for k, variant in enumerate(variants):
            ys, xs = [], []
            for r in rows:
                value = r["forward_backward_vs_floor"] or r["forward_vs_floor"]
                if r["size"] == size and r["variant"] == variant and value is not None:
                    ys.append(cases.index(str(r["case"])) + (len(variants) - 1 - k) * height - 0.4 + height / 2)
                    xs.append(value)
            ax.barh(ys, xs, height=height, label=variant, color=f"C{_variant_order(variant)[0]}")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yticks(range(len(cases)))
        ax.set_yticklabels(cases, fontsize=8)
        ax.set_ylim(-0.6, len(cases) - 0.4)
        ax.set_xlabel("forward+backward time / memory-copy floor (lower is faster)", fontsize=8)
        ax.set_title(f"{size} inputs", fontsize=10)
        ax.grid(axis="x", which="both", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(variants), fontsize=8, bbox_to_anchor=(0.5, 0.975))
    fig.suptitle(title, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
