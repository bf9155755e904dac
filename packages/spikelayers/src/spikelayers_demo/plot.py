"""The demo's figure: accuracy per epoch, and spikes per layer for one test digit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spikelayers import functional

from .model import DigitsSNN
from .train import DemoResult, encode


def record_spikes(model: DigitsSNN, image: torch.Tensor, T: int) -> dict[str, torch.Tensor]:
    """Output spikes ``[T, neurons]`` of every neuron layer for one image ``[1, 8, 8]``."""
    spikes: dict[str, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(lambda _m, _i, out, name=name: spikes.__setitem__(name, out.detach().flatten(1)))
        for name, module in model.spiking_layers()
    ]
    model.eval()
    try:
        with torch.no_grad():
            functional.reset_net(model)
            model(encode(image.unsqueeze(0), T))
    finally:
        for handle in handles:
            handle.remove()
        functional.reset_net(model)
    return spikes


def write_figure(path: Path, result: DemoResult, spikes: dict[str, torch.Tensor]) -> None:
    """Write the figure of :func:`build_figure` to ``path`` (PNG)."""
    import matplotlib.pyplot as plt

    fig = build_figure(result, spikes)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build_figure(result: DemoResult, spikes: dict[str, torch.Tensor]) -> Any:
    """Accuracy per epoch, firing rate per layer and one spike raster ``[T, neurons]`` per layer."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ImportError("--plot needs matplotlib: pip install 'spikelayers[demo]'") from error
    layers = list(spikes)
    fig, axes = plt.subplots(1, 2 + len(layers), figsize=(4 * (2 + len(layers)), 3.6))
    epochs = [r.epoch for r in result.history]
    axes[0].plot(epochs, [100 * r.train_accuracy for r in result.history], marker="o", label="train")
    axes[0].plot(epochs, [100 * r.test_accuracy for r in result.history], marker="o", label="test")
    axes[0].set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend()
    rates = [spikes[name].mean().item() for name in layers]
    axes[1].bar(range(len(layers)), rates)
    axes[1].set_xticks(range(len(layers)), [_layer_label(i, name) for i, name in enumerate(layers)])
    axes[1].set(ylabel="spikes per neuron per step", title="firing rate per layer")
    for index, (ax, name) in enumerate(zip(axes[2:], layers)):
        steps_total, neuron_count = spikes[name].shape
        steps, neurons = spikes[name].nonzero(as_tuple=True)
        ax.scatter(steps.tolist(), neurons.tolist(), s=2, marker="|")
        ax.set(
            xlabel="time step",
            ylabel="neuron index",
            title=f"spikes of {_layer_label(index, name)}: all {neuron_count} neurons",
            xlim=(-0.5, steps_total - 0.5),
            ylim=(-0.5, neuron_count - 0.5),
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def _layer_label(index: int, name: str) -> str:
    return f"LIF {index + 1} ({name})"
