"""Training and evaluation loops of the demo."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from spikelayers import functional


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float


@dataclass
class DemoResult:
    history: list[EpochResult] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def test_accuracy(self) -> float:
        return self.history[-1].test_accuracy if self.history else 0.0


def encode(images: torch.Tensor, T: int) -> torch.Tensor:
    """Direct encoding: the image, as an input current, at every step. ``[N, *] -> [T, N, *]``."""
    return images.unsqueeze(0).expand(T, *images.shape)


def class_scores(model: nn.Module, images: torch.Tensor, T: int) -> torch.Tensor:
    """Mean readout over time, ``[N, 10]``; the network is reset before the batch."""
    functional.reset_net(model)
    return model(encode(images, T)).mean(0)


def evaluate(model: nn.Module, data: TensorDataset, T: int, device: torch.device, batch_size: int = 256) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in DataLoader(data, batch_size=batch_size):
            scores = class_scores(model, images.to(device), T)
            correct += (scores.argmax(1) == labels.to(device)).sum().item()
    return correct / len(data)


def train(
    model: nn.Module,
    train_data: TensorDataset,
    test_data: TensorDataset,
    *,
    epochs: int,
    T: int,
    lr: float,
    batch_size: int,
    device: torch.device,
    seed: int,
    progress: Callable[..., object] | None = None,
    report: Callable[[EpochResult], None] | None = None,
) -> DemoResult:
    """Train with Adam and cross-entropy on the mean readout; evaluate after every epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    generator = torch.Generator().manual_seed(seed)
    result = DemoResult()
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        loader = DataLoader(train_data, batch_size=batch_size, shuffle=True, generator=generator)
        batches = progress(loader, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False) if progress else loader
        total_loss, correct, seen = 0.0, 0, 0
        for images, labels in batches:
            images, labels = images.to(device), labels.to(device)
            scores = class_scores(model, images, T)
            loss = F.cross_entropy(scores, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(labels)
            correct += (scores.argmax(1) == labels).sum().item()
            seen += len(labels)
        scheduler.step()
        epoch_result = EpochResult(epoch, total_loss / seen, correct / seen, evaluate(model, test_data, T, device))
        result.history.append(epoch_result)
        if report:
            report(epoch_result)
    result.elapsed_s = time.perf_counter() - start
    return result
