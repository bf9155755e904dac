"""Two gloo processes under DistributedDataParallel train exactly like one process."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import ddp_network  # noqa: E402

WORLD = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def single_process_parameters() -> dict[str, torch.Tensor]:
    """The same global batches in one process: each rank's shard (with its own dropout
    seed) accumulated as DDP averages them."""
    net = ddp_network.build_network()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for step in range(ddp_network.STEPS):
        optimizer.zero_grad()
        for rank in range(WORLD):
            (ddp_network.shard_loss(net, step, rank, WORLD) / WORLD).backward()
        optimizer.step()
    return {name: p.detach() for name, p in net.named_parameters()}


@pytest.mark.slow
def test_ddp_on_two_processes_equals_one_process(tmp_path):
    out = tmp_path / "params.pt"
    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        "WORLD_SIZE": str(WORLD),
        "OUT": str(out),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, str(HERE / "ddp_network.py")],
            env={**env, "RANK": str(rank)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(WORLD)
    ]
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), "\n".join(errors)
    distributed = torch.load(out)
    expected = single_process_parameters()
    initial = dict(ddp_network.build_network().named_parameters())
    assert distributed.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(distributed[name], value, rtol=1e-5, atol=1e-6, msg=f"parameter {name}")
    unchanged = {name for name, value in expected.items() if torch.equal(value, initial[name].detach())}
    # A per-channel bias and gain right before a batch norm get no gradient; all else trains.
    assert unchanged <= {"0.bias", "0.gain"}, f"training left parameters unchanged: {unchanged}"
