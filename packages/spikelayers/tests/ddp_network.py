"""The network, data and training step shared by the distributed test and its workers.

Run as a script, it is one rank of a ``torch.distributed`` (gloo) training run: it
trains under DistributedDataParallel and writes the final parameters to ``OUT``.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

from spikelayers import functional, layer, neuron

T, GLOBAL_BATCH, STEPS, FEATURES = 4, 8, 3, 16


def build_network() -> nn.Module:
    """Stateful layers of every family that trains under DDP, in multi-step mode."""
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.WSConv2d(1, 4, kernel_size=3, padding=1),
        layer.TemporalEffectiveBatchNorm2d(T, 4),
        neuron.ParametricLIFNode(init_tau=2.0, v_threshold=0.5),
        layer.TemporalWiseAttention(T, reduction=2),
        layer.Dropout(0.3),
        layer.Flatten(),
        layer.Linear(4 * 4 * 4, FEATURES),
        layer.LinearRecurrentContainer(neuron.LIFNode(v_threshold=0.1), FEATURES, FEATURES),
        layer.SynapseFilter(tau=4.0, learnable=True),
        layer.Linear(FEATURES, 3),
    )
    functional.set_step_mode(net, "m")
    return net


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch of ``step``: inputs ``[T, N, 1, 4, 4]`` and labels ``[N]``."""
    generator = torch.Generator().manual_seed(100 + step)
    x = torch.rand(T, GLOBAL_BATCH, 1, 4, 4, generator=generator) * 2
    y = torch.randint(0, 3, (GLOBAL_BATCH,), generator=generator)
    return x, y


def shard_loss(net: nn.Module, step: int, rank: int, world: int) -> torch.Tensor:
    """Loss of one rank's shard, with that rank's own dropout seed, after a reset."""
    x, y = batch(step)
    per_rank = GLOBAL_BATCH // world
    part = slice(rank * per_rank, (rank + 1) * per_rank)
    torch.manual_seed(1000 * step + rank)
    functional.reset_net(net)
    out = net(x[:, part]).mean(0)
    return nn.functional.cross_entropy(out, y[part])


def main() -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    net = build_network()
    model = DistributedDataParallel(net, broadcast_buffers=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(STEPS):
        optimizer.zero_grad()
        shard_loss(model, step, rank, world).backward()
        optimizer.step()
    if rank == 0:
        torch.save({name: p.detach() for name, p in net.named_parameters()}, os.environ["OUT"])
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
