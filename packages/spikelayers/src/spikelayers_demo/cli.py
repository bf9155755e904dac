"""``spikelayers demo``: train and evaluate a spiking CNN on the bundled digits."""

from __future__ import annotations

import argparse
import importlib.util
import random
from pathlib import Path

import torch

from spikelayers import functional


def add_demo_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="train a spiking CNN on the UCI digits (scikit-learn's copy) and report test accuracy"
    )
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (default: 8)")
    parser.add_argument("--T", type=int, default=4, help="time steps per sample (default: 4)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (default: 5e-3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, initialisation and shuffling")
    parser.add_argument(
        "--backend", default="torch", choices=["torch", "triton", "inductor"], help="kernel backend of the neurons"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="write a PNG there: accuracy per epoch, firing rate per layer, spike raster of each layer",
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="FILE",
        help="export the trained network as a single-step ONNX model and re-evaluate the test set in "
        "onnxruntime (needs spikelayers[onnx])",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.set_defaults(handler=run_demo)


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise SystemExit(f"spikelayers demo: --{name} must be at least 1, got {value}")


def _check_backend(backend: str, device: torch.device) -> None:
    """Exit with one line saying why, when the ``triton`` or ``inductor`` backend cannot run here."""
    if backend == "inductor":
        from spikelayers.kernels import backend_unavailable_reason

        reason = backend_unavailable_reason("inductor", device)
        if reason is not None:
            raise SystemExit(f"spikelayers demo: --backend inductor {reason}; use --backend torch")
        return
    if backend != "triton":
        return
    if importlib.util.find_spec("triton") is None:
        raise SystemExit(
            "spikelayers demo: --backend triton needs the triton package: pip install 'spikelayers[triton]'"
        )
    if not torch.cuda.is_available():
        raise SystemExit(
            "spikelayers demo: --backend triton runs on CUDA GPUs and this machine has none "
            "(torch.cuda.is_available() is False); use --backend torch"
        )
    if device.type != "cuda":
        raise SystemExit(
            f"spikelayers demo: --backend triton runs on CUDA GPUs; add --device cuda (got --device {device})"
        )


def run_demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .data import load_digits_split
    from .model import DigitsSNN
    from .train import EpochResult, train

    for name in ("epochs", "T", "batch_size"):
        _positive(name.replace("_", "-"), getattr(args, name))
    device = torch.device(args.device)
    _check_backend(args.backend, device)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    train_data, test_data = load_digits_split(seed=args.seed)
    model = DigitsSNN().to(device)
    if args.backend != "torch":
        functional.set_backend(model, args.backend)
    print(f"digits: {len(train_data)} train / {len(test_data)} test images, T={args.T}, device={device}")

    def report(epoch: EpochResult) -> None:
        tqdm.write(
            f"epoch {epoch.epoch:>3}: loss {epoch.train_loss:.4f}  train accuracy {100 * epoch.train_accuracy:6.2f}%"
            f"  test accuracy {100 * epoch.test_accuracy:6.2f}%"
        )

    result = train(
        model,
        train_data,
        test_data,
        epochs=args.epochs,
        T=args.T,
        lr=args.lr,
        batch_size=args.batch_size,
        device=device,
        seed=args.seed,
        progress=None if args.no_progress else tqdm,
        report=report,
    )
    if args.plot:
        from .plot import record_spikes, write_figure

        write_figure(args.plot, result, record_spikes(model, test_data[0][0].to(device), args.T))
        print(f"plot written to {args.plot.resolve()}")
    print(f"test accuracy: {100 * result.test_accuracy:.2f}%")
    print(f"elapsed: {result.elapsed_s:.1f} s")
    if args.export:
        return _export_and_evaluate(model, test_data, args)
    return 0


def _export_and_evaluate(model: torch.nn.Module, test_data: object, args: argparse.Namespace) -> int:
    """Export the trained network to ONNX, re-evaluate the test set in onnxruntime, print both accuracies."""
    from spikelayers.export import ExportError

    from .deploy import StreamingSession, evaluate_onnx, export_demo_network
    from .train import evaluate

    try:
        signature = export_demo_network(model, args.export, args.batch_size)
        session = StreamingSession(args.export, signature)
    except (ExportError, ImportError) as error:
        print(f"spikelayers demo: --export failed: {error}")
        return 1
    onnx_result = evaluate_onnx(session, model, test_data, args.T, args.batch_size)
    print(f"wrote {args.export}: single-step ONNX model, inputs {', '.join(signature.input_names)}")
    print(f"test accuracy (PyTorch): {100 * evaluate(model, test_data, args.T, torch.device(args.device)):.2f}%")
    print(
        f"test accuracy (onnxruntime, streamed step by step): {100 * onnx_result.accuracy:.2f}% "
        f"(same prediction as PyTorch for {100 * onnx_result.agreement:.2f}% of the images)"
    )
    return 0
