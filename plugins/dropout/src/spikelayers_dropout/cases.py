"""Conformance-kit cases of the dropout layers (built lazily by the plugin hook)."""

from __future__ import annotations

from spikelayers.testing import LayerCase, spike_input


def conformance_cases() -> list[LayerCase]:
    """Dropout and Dropout2d in training and eval; DropConnectLinear where 's' and 'm'
    draw the same random numbers (invariant masks, fresh masks per step, and eval).

    A single step of Dropout may have any rank, so only the multi-step rank check
    applies there (on one-dimensional steps for Dropout, ``[N, C]`` steps for Dropout2d).
    """
    from .dropconnect import DropConnectLinear
    from .dropout import Dropout, Dropout2d

    return [
        LayerCase(lambda: Dropout(0.5), (6,), T=4, name="Dropout", rank_checks=("m",)),
        LayerCase(lambda: Dropout(0.3), (2, 3, 4), T=4, input_fn=spike_input, name="Dropout-3d", rank_checks=()),
        LayerCase(lambda: Dropout(0.5), (2, 5), T=4, train=False, name="Dropout-eval", rank_checks=()),
        LayerCase(lambda: Dropout2d(0.4), (3, 4), T=4, name="Dropout2d", rank_checks=("m",)),
        LayerCase(lambda: Dropout2d(), (2, 3, 4, 4), T=4, name="Dropout2d-spatial", rank_checks=()),
        LayerCase(lambda: DropConnectLinear(5, 3, invariant=True), (4, 5), T=4, name="DropConnectLinear-invariant"),
        LayerCase(
            lambda: DropConnectLinear(5, 3, bias=False, p=0.3, invariant=True, activation=None),
            (2, 5),
            T=4,
            name="DropConnectLinear-invariant-nobias",
        ),
        LayerCase(lambda: DropConnectLinear(5, 3), (4, 5), T=4, name="DropConnectLinear-per-step"),
        LayerCase(
            lambda: DropConnectLinear(5, 3, samples_num=16),
            (4, 5),
            T=4,
            train=False,
            name="DropConnectLinear-eval",
            rtol=1e-4,
            atol=1e-5,
        ),
    ]
