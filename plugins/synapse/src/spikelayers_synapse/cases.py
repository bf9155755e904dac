"""Conformance-kit cases of the synapse layers (built lazily by the plugin hook)."""

from __future__ import annotations

from spikelayers.testing import LayerCase, spike_input


def conformance_cases() -> list[LayerCase]:
    """SynapseFilter (fixed and learnable tau) and Delay (several delays) in every mode.

    Both are element-wise, so a single step of any rank is valid: only the multi-step
    rank check applies, on a one-dimensional step ``[N]`` (a multi-step input needs ``[T, N]``).
    """
    from .delay import Delay
    from .filter import SynapseFilter

    cases = [
        LayerCase(
            lambda: SynapseFilter(tau=4.0), (3, 5), T=6, input_fn=spike_input, name="SynapseFilter", rank_checks=()
        ),
        LayerCase(lambda: SynapseFilter(tau=2.5), (7,), T=5, name="SynapseFilter-gaussian", rank_checks=("m",)),
        LayerCase(
            lambda: SynapseFilter(tau=3.0, learnable=True),
            (2, 3, 4),
            T=6,
            input_fn=spike_input,
            name="SynapseFilter-learnable",
            rank_checks=(),
        ),
    ]
    for d in (0, 1, 3, 5):
        cases.append(LayerCase(lambda d=d: Delay(d), (2, 3), T=6, name=f"Delay-{d}", rank_checks=()))
    cases.append(LayerCase(lambda: Delay(2), (4,), T=5, name="Delay-rank", rank_checks=("m",)))
    return cases
