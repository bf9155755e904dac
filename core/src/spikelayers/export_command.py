"""``spikelayers export``: write a saved network as an ONNX model or a ``torch.export`` program."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_export_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a network saved with torch.save(net, path) to ONNX or a torch.export program",
        description="Export a network (a whole module saved with torch.save) with explicit state: the "
        "single-step model maps (input, *memories) to (output, *new memories), the multi-step model a whole "
        "sequence from the initial state.",
    )
    parser.add_argument(
        "network", type=Path, help="the saved network (.pt, a pickled torch.nn.Module; load only files you trust)"
    )
    parser.add_argument("output", type=Path, help="where to write the model (.onnx, or .pt2 for --format pt2)")
    parser.add_argument("--format", choices=["onnx", "pt2"], default="onnx", help="onnx (default) or pt2")
    parser.add_argument(
        "--input-shape",
        required=True,
        help="shape of the example input, comma-separated: one step N,* for --step-mode s, T,N,* for m",
    )
    parser.add_argument("--step-mode", choices=["s", "m"], default="s", help="s: one step with state (default)")
    parser.set_defaults(handler=run_export)


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--input-shape must be comma-separated positive ints, got {text!r}") from None
    if not shape or any(size < 1 for size in shape):
        raise ValueError(f"--input-shape must be comma-separated positive ints, got {text!r}")
    return shape


def run_export(args: argparse.Namespace) -> int:
    import torch
    from torch import nn

    from .export import ExportError, export, to_onnx

    try:
        shape = _shape(args.input_shape)
        net = torch.load(args.network, weights_only=False, map_location="cpu")
        if not isinstance(net, nn.Module):
            raise ValueError(
                f"{args.network} holds a {type(net).__name__}, not a torch.nn.Module; save the whole network "
                "with torch.save(net, path)"
            )
        net.eval()
        parameter = next(net.parameters(), None)
        example = torch.zeros(shape, dtype=torch.get_default_dtype() if parameter is None else parameter.dtype)
        if args.format == "onnx":
            signature = to_onnx(net, example, args.output, args.step_mode)
        else:
            program = export(net, example, args.step_mode)
            signature = program.spikelayers_signature
            torch.export.save(program, args.output)
    except (ExportError, ValueError, ImportError, OSError) as error:
        print(f"spikelayers export: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.output}: inputs {', '.join(signature.input_names)}; outputs {', '.join(signature.output_names)}"
    )
    return 0
