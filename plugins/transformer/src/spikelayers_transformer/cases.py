"""Conformance-kit cases of the attention blocks (multi-step only, plain modules).

Batch norm in training takes its statistics over the whole call, so only the eval cases
may be fed in pieces. The batch-norm biases are raised so that the neurons fire often.
``torch.compile`` is checked here on SDSA; the Spikformer example's test compiles SSA
inside a whole network, with training steps.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikelayers.testing import LayerCase, spike_input


def firing(factory: Callable[[], nn.Module], shift: float = 1.5) -> Callable[[], nn.Module]:
    """Wrap ``factory`` so that every batch norm has a bias around ``shift`` and random statistics."""

    def build() -> nn.Module:
        block = factory()
        with torch.no_grad():
            for module in block.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.normal_(shift, 0.3)
                    module.running_mean.normal_(0.0, 0.5)
                    module.running_var.uniform_(0.5, 2.0)
        return block

    return build


def scaled_gaussian(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Real-valued input large enough for the shortcut neuron of SDSA to fire."""
    return 3.0 * torch.randn(shape, generator=generator, dtype=dtype)


def conformance_cases() -> list[LayerCase]:
    from .qk import ChannelQKAttention, QKAttention, TokenQKAttention
    from .sdsa import SpikeDrivenSelfAttention
    from .ssa import SpikingSelfAttention

    token_blocks: list[tuple[str, Callable[[], nn.Module]]] = [
        ("SpikingSelfAttention", lambda: SpikingSelfAttention(8, 2)),
        ("SpikingSelfAttention-wide-heads", lambda: SpikingSelfAttention(12, 2)),
        ("QKAttention", lambda: QKAttention(8, 2)),
        ("TokenQKAttention", lambda: TokenQKAttention(8, 2)),
        ("ChannelQKAttention", lambda: ChannelQKAttention(8, 4)),
    ]
    cases = []
    for name, factory in token_blocks:
        common = {"T": 3, "step_modes": ("m",), "input_fn": spike_input, "rtol": 1e-4, "atol": 1e-5}
        cases.append(LayerCase(firing(factory), (2, factory().dim, 5), name=f"{name}-train", chunkable=False, **common))
        cases.append(LayerCase(firing(factory), (2, factory().dim, 5), name=f"{name}-eval", train=False, **common))
    sdsa = lambda: SpikeDrivenSelfAttention(8, 2)  # noqa: E731
    common = {"T": 3, "step_modes": ("m",), "input_fn": scaled_gaussian, "rtol": 1e-4, "atol": 1e-5}
    cases.append(
        LayerCase(firing(sdsa), (2, 8, 3, 3), name="SpikeDrivenSelfAttention-train", chunkable=False, **common)
    )
    cases.append(LayerCase(firing(sdsa), (2, 8, 3, 3), name="SpikeDrivenSelfAttention-eval", train=False, **common))
    cases.append(
        LayerCase(
            firing(sdsa), (2, 8, 3, 3), name="SpikeDrivenSelfAttention-compile", compile=True, chunkable=False, **common
        )
    )
    return cases
