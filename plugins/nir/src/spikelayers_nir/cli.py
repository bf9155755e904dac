"""``spikelayers nir export MODEL.pt OUT.nir`` and ``spikelayers nir import IN.nir OUT.pt``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_nir_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("nir", help="export to or import from the Neuromorphic Intermediate Representation")
    commands = parser.add_subparsers(dest="nir_command", metavar="ACTION", required=True)

    export = commands.add_parser("export", help="write a saved network (torch.save of the module) as a .nir file")
    export.add_argument("model", type=Path, help="MODEL.pt, a whole module saved with torch.save")
    export.add_argument("out", type=Path, help="OUT.nir")
    export.add_argument(
        "--input-shape",
        required=True,
        help="comma-separated shape of one input, [N, *] single-step or [T, N, *] multi-step (e.g. 4,1,2,16,16)",
    )
    export.add_argument("--dt", type=float, default=1e-4, help="time step in seconds (default: 1e-4)")
    export.add_argument("--exact-threshold", action="store_true", help="store thresholds for strict (v > thr) readers")
    export.add_argument("--maxpool-as-sumpool", action="store_true", help="write MaxPool2d as SumPool2d + Threshold")
    export.set_defaults(handler=run_export)

    imported = commands.add_parser("import", help="build modules from a .nir file and torch.save them")
    imported.add_argument("graph", type=Path, help="IN.nir")
    imported.add_argument("out", type=Path, help="OUT.pt")
    imported.add_argument("--dt", type=float, default=None, help="time step in seconds (default: the graph's)")
    imported.add_argument("--step-mode", choices=("s", "m"), default="s", help="step mode of the modules (default: s)")
    imported.add_argument("--exact-threshold", action="store_true", help="fire on v > threshold exactly, as NIR")
    imported.set_defaults(handler=run_import)


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        shape = ()
    if not shape or any(size < 1 for size in shape):
        raise ValueError(f"--input-shape must be positive ints separated by commas, got {text!r}")
    return shape


def run_export(args: argparse.Namespace) -> int:
    import nir
    import torch

    from .api import NIRExportError
    from .export import to_nir

    try:
        shape = _shape(args.input_shape)
        net = torch.load(args.model, weights_only=False, map_location="cpu")
        if not isinstance(net, torch.nn.Module):
            raise ValueError(f"{args.model} holds a {type(net).__name__}, not a module saved with torch.save(module)")
        graph = to_nir(
            net,
            torch.zeros(shape),
            dt=args.dt,
            exact_threshold=args.exact_threshold,
            maxpool_as_sumpool=args.maxpool_as_sumpool,
        )
    except (OSError, ValueError, NIRExportError) as error:
        print(f"spikelayers nir export: {error}", file=sys.stderr)
        return 1
    nir.write(args.out, graph)
    print(f"wrote {args.out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges, dt={args.dt}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    import torch

    from .api import NIRImportError
    from .importer import from_nir

    try:
        model = from_nir(args.graph, dt=args.dt, step_mode=args.step_mode, exact_threshold=args.exact_threshold)
    except (OSError, ValueError, NIRImportError) as error:
        print(f"spikelayers nir import: {error}", file=sys.stderr)
        return 1
    torch.save(model, args.out)
    print(f"wrote {args.out}: {type(model).__name__} of {len(list(model.children()))} modules")
    return 0
