"""The ``spikelayers bench`` subcommand."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from .allocator import ALLOCATORS, apply_allocator
from .report import format_table, summarise, write_chart, write_json
from .runner import collect_cases, import_compare_modules, run_case


def add_bench_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmark the layers of the installed plugins")
    parser.add_argument("--sizes", default="small,large", help="comma-separated size labels (default: small,large)")
    parser.add_argument("--only", action="append", help="run cases whose name contains this (repeatable)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per variant (median reported)")
    parser.add_argument(
        "--compare",
        metavar="MODULE",
        action="append",
        default=[],
        help="also time the same classes taken from MODULE, another library with this API (repeatable: "
        "the first module that has a class is used)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for bench.json and bench.png")
    parser.add_argument(
        "--allocator",
        choices=ALLOCATORS,
        default="keep",
        help="CPU memory: 'keep' freed memory for reuse (default; glibc), or the 'system' defaults",
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.set_defaults(handler=run_bench)


def _distribution_version(module_name: str) -> str | None:
    """The installed version of the distribution named like the top package of ``module_name``."""
    try:
        return importlib.metadata.version(module_name.partition(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return None


def run_bench(args: argparse.Namespace) -> int:
    cases = collect_cases(args.only)
    if args.list or not cases:
        for case in cases:
            print(f"{case.name:<40} sizes: {', '.join(case.shapes)}")
        if not cases:
            print("no benchmark cases: install plugins that provide them")
        return 0 if cases else 1
    try:
        compare = import_compare_modules(args.compare)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    allocator = apply_allocator(args.allocator)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    work = [(case, size) for case in cases for size in sizes if size in case.shapes]
    measurements = []
    for case, size in tqdm(work, desc="bench", unit="case"):
        measurements.extend(run_case(case, size, device, dtype, args.repeats, compare))
    rows = summarise(measurements)
    print(format_table(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    meta = {
        "device": str(device),
        "device_name": name,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "repeats": args.repeats,
        "allocator": allocator,
        "compare": {name: _distribution_version(name) for name in args.compare},
    }
    write_json(args.out / "bench.json", measurements, rows, meta)
    charted = write_chart(args.out / "bench.png", rows, f"spikelayers on {name} ({device})")
    print(f"\nwrote {args.out / 'bench.json'}" + (f" and {args.out / 'bench.png'}" if charted else ""))
    return 0
