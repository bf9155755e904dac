"""Write the SpikingJelly 2.0.0 fixtures of the golden tests (``test_nir_golden.py``).

Run from the repository root in an environment with ``spikingjelly==2.0.0`` and the
spikelayers distributions, such as the ``nir-interop`` tox env::

    tox run -e nir-interop --notest
    .tox/nir-interop/bin/python plugins/nir/tests/golden/make_golden.py

It writes, beside this file:

- ``state.pt``: the parameters of two networks (one with a BatchNorm, trained a few
  steps with spikelayers; one without) and the input spikes.
- ``sj_export.nir``: SpikingJelly's export of the network without BatchNorm.
- ``ours_plain.nir``, ``ours_batch_norm.nir``: spikelayers' export of each network.
- ``sj_outputs.pt``: SpikingJelly's outputs of that network, and its outputs after
  importing spikelayers' export of each network with ``import_from_nir``.
"""

from __future__ import annotations

from pathlib import Path

import nir
import torch
from networks import batch_norm_network, plain_network  # beside this script
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based.nir_exchange import export_to_nir, import_from_nir
from torch import nn

from spikelayers import functional, layer, neuron
from spikelayers_nir import to_nir

HERE = Path(__file__).parent
DT = 1e-3
T, N = 6, 3


def train(net: nn.Module) -> None:
    generator = torch.Generator().manual_seed(1)
    functional.set_step_mode(net, "m")
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(3):
        x = (torch.rand(T, 8, 2, 8, 8, generator=generator) > 0.5).float()
        functional.reset_net(net)
        loss = ((net(x).mean(0) - torch.rand(8, 10, generator=generator)) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    functional.reset_net(net)
    functional.set_step_mode(net, "s")
    net.eval()


def sj_run(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """An imported SpikingJelly graph module, multi-step from a fresh state."""
    with torch.no_grad():
        out, _state = model(x, None)
    return out


def main() -> None:
    torch.manual_seed(0)
    sj_net = plain_network(sj_layer, sj_neuron).eval()
    with torch.no_grad():
        sj_net[5].w.add_(0.3)
        for index in (0, 4, 6):
            sj_net[index].weight.mul_(4.0)
    torch.manual_seed(0)
    bn_net = batch_norm_network(layer, neuron)
    train(bn_net)
    x = (torch.rand(T, N, 2, 8, 8, generator=torch.Generator().manual_seed(2)) > 0.5).float()

    sj_functional.set_step_mode(sj_net, "m")
    with torch.no_grad():
        sj_plain_out = sj_net(x)
    sj_functional.reset_net(sj_net)
    sj_functional.set_step_mode(sj_net, "s")
    export_to_nir(sj_net, x[0], save_path=HERE / "sj_export.nir", dt=DT)

    ours_plain = plain_network(layer, neuron).eval()
    ours_plain.load_state_dict(sj_net.state_dict())
    outputs = {"sj_plain": sj_plain_out}
    for key, net in (("plain", ours_plain), ("batch_norm", bn_net)):
        graph = to_nir(net, x[0], dt=DT)
        path = HERE / f"ours_{key}.nir"
        nir.write(path, graph)
        outputs[f"sj_import_of_ours_{key}"] = sj_run(import_from_nir(nir.read(path), dt=DT, step_mode="m"), x)
    torch.save({"plain": sj_net.state_dict(), "batch_norm": bn_net.state_dict(), "x": x, "dt": DT}, HERE / "state.pt")
    torch.save(outputs, HERE / "sj_outputs.pt")
    for key, value in outputs.items():
        print(f"{key}: {tuple(value.shape)}, {int(value.sum())} spikes")


if __name__ == "__main__":
    main()
