"""A small Spikformer trained for a few steps on random data, in multi-step mode.

Patch embedding (a strided convolution, batch norm and LIF neurons), one transformer
block (spiking self-attention and a spiking MLP, each with a residual), then the mean
over tokens and time and a linear classifier. Needs spikelayers-core, -neuron and
-transformer::

    python examples/spikformer/spikformer_block.py --steps 5
    python examples/spikformer/spikformer_block.py --steps 5 --compile inductor
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from spikelayers import functional, layer, neuron


def lif() -> nn.Module:
    """The LIF neuron used throughout: multi-step, tau 2, reset detached from the graph."""
    return neuron.LIFNode(tau=2.0, detach_reset=True, step_mode="m")


class PatchEmbedding(nn.Module):
    """``[T, N, C, H, W]`` images -> ``[T, N, D, L]`` spiking tokens, one per ``patch x patch`` patch."""

    def __init__(self, in_channels: int, dim: int, patch: int) -> None:
        super().__init__()
        self.conv_bn = layer.SeqToANNContainer(
            nn.Conv2d(in_channels, dim, kernel_size=patch, stride=patch, bias=False), nn.BatchNorm2d(dim)
        )
        self.lif = lif()

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.lif(self.conv_bn(x_seq)).flatten(3)


class SpikingMLP(nn.Module):
    """``[T, N, D, L] -> [T, N, D, L]``: two token-wise linear maps (1x1 convolutions) with batch norm and LIF."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = layer.SeqToANNContainer(nn.Conv1d(dim, hidden, 1, bias=False), nn.BatchNorm1d(hidden))
        self.lif1 = lif()
        self.fc2 = layer.SeqToANNContainer(nn.Conv1d(hidden, dim, 1, bias=False), nn.BatchNorm1d(dim))
        self.lif2 = lif()

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.lif2(self.fc2(self.lif1(self.fc1(x_seq))))


class SpikformerBlock(nn.Module):
    """``x + SSA(x)``, then ``x + MLP(x)``, on ``[T, N, D, L]`` tokens."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.attention = layer.SpikingSelfAttention(dim, num_heads)
        self.mlp = SpikingMLP(dim, dim * mlp_ratio)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        x_seq = x_seq + self.attention(x_seq)
        return x_seq + self.mlp(x_seq)


class TinySpikformer(nn.Module):
    """``[T, N, C, H, W]`` -> class scores ``[N, classes]``."""

    def __init__(self, in_channels: int = 3, dim: int = 32, num_heads: int = 4, patch: int = 4, classes: int = 10):
        super().__init__()
        self.embed = PatchEmbedding(in_channels, dim, patch)
        self.block = SpikformerBlock(dim, num_heads)
        self.head = nn.Linear(dim, classes)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        tokens = self.block(self.embed(x_seq))
        return self.head(tokens.mean(dim=(0, 3)))


def train(
    steps: int = 3,
    T: int = 4,
    batch: int = 8,
    image: int = 16,
    compile_backend: str | None = None,
    seed: int = 0,
) -> tuple[nn.Module, list[float]]:
    """Train a :class:`TinySpikformer` for ``steps`` steps on random images; return it and the losses.

    The same seed gives the same data and initial weights, so an eager and a compiled run
    can be compared step by step.
    """
    torch.manual_seed(seed)
    model = TinySpikformer()
    step_fn: nn.Module = model if compile_backend is None else torch.compile(model, backend=compile_backend)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        images = torch.rand(batch, 3, image, image, generator=generator)
        labels = torch.randint(0, 10, (batch,), generator=generator)
        x_seq = images.unsqueeze(0).repeat(T, 1, 1, 1, 1)  # the same frame at every step: [T, N, C, H, W]
        loss = nn.functional.cross_entropy(step_fn(x_seq), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        functional.reset_net(model)
        losses.append(loss.item())
    return model, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--compile", metavar="BACKEND", default=None, help="torch.compile backend, e.g. inductor")
    args = parser.parse_args()
    _, losses = train(args.steps, compile_backend=args.compile)
    for step, loss in enumerate(losses, 1):
        print(f"step {step}: loss {loss:.4f}")


if __name__ == "__main__":
    main()
