"""With every plugin installed, the whole reference API resolves and keeps its signatures."""

import pytest

from spikelayers import layer, neuron, surrogate
from spikelayers.testing import check_signature
from spikelayers.testing.reference_signatures import REFERENCE_SIGNATURES

# Keyword aliases that the reference's own examples or its misspelt signature need.
ALIASES = {"Delay": {"delay": "delay_steps"}, "DropConnectLinear": {"step_mode": "state_mode"}}


def test_the_reference_has_fifty_classes():
    assert len(REFERENCE_SIGNATURES) == 50


@pytest.mark.parametrize("name", sorted(REFERENCE_SIGNATURES))
def test_reference_class_resolves_with_its_signature(name):
    cls = getattr(layer, name)
    assert name in dir(layer)
    check_signature(cls, name, aliases=ALIASES.get(name))


def test_neurons_surrogates_and_aliases_resolve():
    for name in ("IFNode", "LIFNode", "ParametricLIFNode", "OTTTLIFNode"):
        assert name in dir(neuron)
        getattr(neuron, name)
    for name in ("Sigmoid", "ATan", "PiecewiseQuadratic"):
        getattr(surrogate, name)
    assert layer.LowPassSynapse is layer.SynapseFilter
