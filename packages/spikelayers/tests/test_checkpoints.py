"""A checkpoint saved in one process loads in another and continues identically."""

import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from spikelayers import functional
from spikelayers.testing import assert_close
from spikelayers.testing.checks import snapshot_memories

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import ddp_network  # noqa: E402

SAVE = textwrap.dedent(
    """
    import sys
    import torch
    sys.path.insert(0, {here!r})
    import ddp_network
    from spikelayers import functional

    net = ddp_network.build_network()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for step in range(2):
        optimizer.zero_grad()
        ddp_network.shard_loss(net, step, 0, 1).backward()
        optimizer.step()
    net.eval()
    functional.reset_net(net)
    x, _ = ddp_network.batch(7)
    with torch.no_grad():
        out = net(x)
    torch.save({{"state_dict": net.state_dict(), "x": x, "out": out}}, {path!r})
    """
)


def fresh_network(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = ddp_network.build_network()
    for p in net.parameters():
        p.data.normal_()
    return net.eval()


def test_checkpoint_from_another_process_continues_identically(tmp_path):
    path = tmp_path / "checkpoint.pt"
    subprocess.run([sys.executable, "-c", SAVE.format(here=str(HERE), path=str(path))], check=True)
    saved = torch.load(path)
    never_ran = fresh_network(1)
    already_ran = fresh_network(2)
    with torch.no_grad():
        already_ran(saved["x"])  # state from a forward must not affect loading
    initial_memories = snapshot_memories(fresh_network(3))
    for net in (never_ran, already_ran):
        net.load_state_dict(saved["state_dict"])
        functional.reset_net(net)
        memories = snapshot_memories(net)
        assert memories.keys() == initial_memories.keys()
        for name, value in memories.items():
            assert_close(value, initial_memories[name], f"memory {name} after load and reset_net")
        with torch.no_grad():
            assert_close(net(saved["x"]), saved["out"], "output after loading the checkpoint", rtol=1e-5, atol=1e-6)


def test_state_dict_keys_do_not_depend_on_a_forward():
    net = fresh_network(0)
    before = list(net.state_dict())
    x, _ = ddp_network.batch(0)
    with torch.no_grad():
        net(x)
    assert list(net.state_dict()) == before
