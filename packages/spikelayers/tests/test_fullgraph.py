"""``torch.compile(fullgraph=True)`` with inductor: one graph, the eager answers.

A network of every stateful family's layers and one conformance case per stateful
family go through the kit's ``fullgraph`` check (multi-step mode and a loop of single
steps, outputs and gradients against eager, zero graph breaks).
"""

import dataclasses

import pytest
from torch import nn

from spikelayers import layer, neuron
from spikelayers.testing import LayerCase, check_fullgraph, installed_cases

STATEFUL_FAMILIES = ("neuron", "synapse", "norm", "dropout", "recurrent", "attention", "ottt")


def network() -> nn.Module:
    """Conv2d, BatchNorm2d, LIFNode, SynapseFilter (learnable), NeuNorm, Dropout, Linear."""
    return nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        layer.BatchNorm2d(4),
        neuron.LIFNode(),
        layer.SynapseFilter(tau=4.0, learnable=True),
        layer.NeuNorm(4, 5, 5),
        layer.Dropout(0.3),
        layer.Flatten(),
        layer.Linear(4 * 5 * 5, 3),
    )


@pytest.mark.slow
def test_a_network_of_stateful_layers_compiles_to_one_graph_with_the_eager_answers():
    case = LayerCase(
        network,
        input_shape=(2, 2, 5, 5),
        T=3,
        name="network",
        step_modes=("m", "s"),
        fullgraph=True,
        compile_backend="inductor",
        rtol=1e-4,
        atol=1e-4,
    )
    check_fullgraph(case)


# One class per stateful family; the network above covers LIFNode, SynapseFilter,
# NeuNorm and Dropout again, in one graph.
FAMILY_CLASSES = {
    "neuron": "ParametricLIFNode",
    "synapse": "SynapseFilter",
    "norm": "TemporalEffectiveBatchNorm2d",
    "dropout": "Dropout",
    "recurrent": "ElementWiseRecurrentContainer",
    "attention": "TemporalWiseAttention",
    "ottt": "OTTTLIFNode",
}


def _family(case: LayerCase) -> str:
    return type(case.build()).__module__.split(".")[0].removeprefix("spikelayers_")


def _one_case_per_stateful_family() -> list[LayerCase]:
    chosen: dict[str, LayerCase] = {}
    for case in sorted(installed_cases(), key=lambda case: not case.train):
        family = _family(case)
        if FAMILY_CLASSES.get(family) == type(case.build()).__name__ and family not in chosen:
            chosen[family] = case
    return [chosen[family] for family in sorted(chosen)]


def test_every_stateful_family_has_a_fullgraph_case():
    assert {_family(case) for case in _one_case_per_stateful_family()} == set(STATEFUL_FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize("case", _one_case_per_stateful_family(), ids=lambda case: f"{_family(case)}-{case.id}")
def test_one_case_of_every_stateful_family_compiles_to_one_graph(case):
    check_fullgraph(
        dataclasses.replace(
            case, fullgraph=True, compile_backend="inductor", rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-4)
        )
    )
