"""Deploy the trained demo network: export it to ONNX and re-evaluate it in onnxruntime."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from spikelayers.export import ExportedSignature, to_onnx


@dataclass
class OnnxEvaluation:
    """Test accuracy of the ONNX model streamed in onnxruntime, and how often its
    predictions equal PyTorch's."""

    accuracy: float
    agreement: float


class StreamingSession:
    """Runs an exported single-step model one step at a time, carrying its memories.

    ``run_sequence(x_seq)`` takes ``[T, B, *]`` (``B`` the exported batch size) and
    returns the outputs ``[T, B, *']``, starting from the initial state.
    """

    def __init__(self, path: str | Path, signature: ExportedSignature, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.signature = signature
        self.initial = {name: value.numpy() for name, value in signature.initial.items()}

    def run_sequence(self, x_seq: np.ndarray) -> np.ndarray:
        state = self.initial
        outputs = []
        for x in x_seq:
            output, *memories = self.session.run(None, {"input": x, **state})
            state = dict(zip(self.signature.memory_names, memories))
            outputs.append(output)
        return np.stack(outputs)


def export_demo_network(model: nn.Module, path: str | Path, batch_size: int) -> ExportedSignature:
    """Write the network's single-step ONNX model for batches of ``batch_size`` images."""
    network = copy.deepcopy(model).cpu().eval()
    return to_onnx(network, torch.zeros(batch_size, 1, 8, 8), path, "s")


def evaluate_onnx(
    session: StreamingSession, model: nn.Module, data: TensorDataset, T: int, batch_size: int
) -> OnnxEvaluation:
    """Stream each test image for ``T`` steps through the ONNX model (the last batch padded
    to ``batch_size``) and compare its predictions with the labels and with PyTorch's."""
    from .train import class_scores

    network = copy.deepcopy(model).cpu().eval()
    correct = agree = 0
    with torch.no_grad():
        for images, labels in DataLoader(data, batch_size=batch_size):
            count = len(labels)
            padded = torch.zeros(batch_size, *images.shape[1:])
            padded[:count] = images
            x_seq = padded.unsqueeze(0).expand(T, *padded.shape).numpy()
            scores = torch.from_numpy(session.run_sequence(x_seq)).mean(0)[:count]
            predicted = scores.argmax(1)
            correct += int((predicted == labels).sum())
            agree += int((predicted == class_scores(network, images, T).argmax(1)).sum())
    return OnnxEvaluation(correct / len(data), agree / len(data))
