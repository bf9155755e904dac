"""A module that runs an imported NIR graph that is not a plain chain (branches, sums)."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers.base import StepModule


class GraphExecutor(StepModule, nn.Module):
    """Runs modules in a fixed topological order; a node with several inputs gets their sum.

    Each node's modules live in :attr:`layers` (an ``nn.ModuleDict`` keyed by a
    dot-free version of the node name), so ``reset_net``, ``set_step_mode``,
    ``state_dict`` and ``.to()`` reach them. Input ``[N, *]`` in ``'s'``, ``[T, N, *]``
    in ``'m'`` (the modules' own step modes decide); returns one tensor per graph output
    (a tuple when there are several).

    Args:
        layers: node key -> module (``nn.Identity`` for nodes that pass their input on).
        order: node keys in an order where every node comes after its inputs.
        inputs: node key -> the keys feeding it (the graph input is ``"input"``).
        outputs: the keys whose values the forward returns.
        step_mode: ``'s'`` or ``'m'``.
    """

    def __init__(
        self,
        layers: dict[str, nn.Module],
        order: list[str],
        inputs: dict[str, list[str]],
        outputs: list[str],
        step_mode: str = "s",
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleDict(layers)
        self.order = list(order)
        self.inputs = {key: list(value) for key, value in inputs.items()}
        self.outputs = list(outputs)
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        values: dict[str, torch.Tensor] = {"input": x}
        for key in self.order:
            feeds = [values[source] for source in self.inputs[key]]
            total = feeds[0]
            for other in feeds[1:]:
                total = total + other
            values[key] = self.layers[key](total)
        results = tuple(_sum(values, self.inputs[key]) for key in self.outputs)
        return results[0] if len(results) == 1 else results

    def extra_repr(self) -> str:
        return f"order={self.order}, outputs={self.outputs}, step_mode={self.step_mode}"


def _sum(values: dict[str, torch.Tensor], keys: list[str]) -> torch.Tensor:
    total = values[keys[0]]
    for key in keys[1:]:
        total = total + values[key]
    return total
