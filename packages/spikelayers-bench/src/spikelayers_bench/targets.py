"""Check a GPU benchmark report against the targets of the fused multi-step kernels.

The targets, at the ``gpu`` size (``T = 16`` over 4M neurons), forward+backward, on the
``'triton'`` backend: :data:`TARGET_CASES` reach :data:`BANDWIDTH_TARGET` of the card's
memory bandwidth, counting the bytes of the memory-copy floor (the least the op must
read and write), and run at least :data:`SPEEDUP_TARGET` times faster than the loop of
single steps. Usage::

    python -m spikelayers_bench.targets bench-results/gpu/bench.json [--peak-gbps 4800]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TARGET_CASES = ("LIFNode", "SynapseFilter")
BANDWIDTH_TARGET = 0.70
SPEEDUP_TARGET = 5.0
SIZE = "gpu"
VARIANT = "spikelayers[triton]"

# Peak memory bandwidth in GB/s from the vendors' data sheets, longest name first.
PEAK_GBPS = {"H100 PCIe": 2000.0, "H100 NVL": 3900.0, "H100": 3350.0, "H200": 4800.0, "A100": 2039.0}


def card_peak_gbps(device_name: str) -> float | None:
    """The data-sheet bandwidth of the card named ``device_name``, if it is a known one."""
    for name in sorted(PEAK_GBPS, key=len, reverse=True):
        if name.lower() in device_name.lower():
            return PEAK_GBPS[name]
    return None


def _find(rows: list[dict[str, Any]], case: str, variant: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["case"] == case and r["size"] == SIZE and r["variant"] == variant), None)


def check_targets(report: dict[str, Any], peak_gbps: float | None = None) -> list[dict[str, Any]]:
    """One result per target case: bandwidth, share of the peak and of the copy floor, speedup, verdicts.

    Raises ``ValueError`` when the report has no ``gpu``-size triton row of a target case.
    """
    peak = peak_gbps or card_peak_gbps(str(report["meta"].get("device_name", "")))
    floors = {m["case"]: m for m in report["measurements"] if m["variant"] == "floor" and m["size"] == SIZE}
    results = []
    for case in TARGET_CASES:
        ours, loop = _find(report["summary"], case, VARIANT), _find(report["summary"], case, "reference")
        if ours is None or loop is None or case not in floors:
            raise ValueError(f"the report has no {SIZE!r}-size {VARIANT} and reference rows of {case}")
        floor = floors[case]
        gbps = float(ours["forward_backward_gbps"])
        copy_gbps = 2 * floor["traffic_mb"] * 2**20 / (floor["forward_backward_ms"] * 1e-3) / 1e9
        speedup = loop["forward_backward_ms"] / ours["forward_backward_ms"]
        share = gbps / peak if peak else None
        results.append(
            {
                "case": case,
                "gbps": gbps,
                "share_of_peak": share,
                "share_of_copy": gbps / copy_gbps,
                "speedup_over_loop": speedup,
                "bandwidth_met": None if share is None else share >= BANDWIDTH_TARGET,
                "speedup_met": speedup >= SPEEDUP_TARGET,
            }
        )
    return results


def format_targets(results: list[dict[str, Any]], device_name: str) -> str:
    lines = [f"targets on {device_name}: >= {BANDWIDTH_TARGET:.0%} of peak bandwidth, >= {SPEEDUP_TARGET}x the loop"]
    for r in results:
        share = "peak unknown" if r["share_of_peak"] is None else f"{r['share_of_peak']:.0%} of peak"
        verdict = {True: "met", False: "missed", None: "unknown"}
        lines.append(
            f"{r['case']:<16} {r['gbps']:8.0f} GB/s ({share}, {r['share_of_copy']:.0%} of the copy floor; "
            f"bandwidth {verdict[r['bandwidth_met']]}), {r['speedup_over_loop']:.1f}x the loop "
            f"({verdict[r['speedup_met']]})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spikelayers_bench.targets", description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path, help="bench.json of a run with --sizes gpu on a CUDA device")
    parser.add_argument("--peak-gbps", type=float, help="the card's memory bandwidth (default: from its name)")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    try:
        results = check_targets(report, args.peak_gbps)
    except ValueError as error:
        print(f"spikelayers_bench.targets: {error}", file=sys.stderr)
        return 2
    print(format_targets(results, str(report["meta"].get("device_name"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
