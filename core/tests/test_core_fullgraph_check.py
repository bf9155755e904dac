"""The kit's fullgraph check passes a layer that compiles whole and names the break of
one that does not."""

import pytest
import torch
from torch import nn

from spikelayers.shapes import check_dim
from spikelayers.testing import LayerCase, check_fullgraph, checks_for, graph_breaks
from spikelayers.testing.examples import LeakyIntegrator as Leaky


class SyncsToTheHost(Leaky):
    """Reads its decay back to the host every step: a graph break (and a device sync)."""

    def single_step_forward(self, x):
        check_dim(self, x, 2, "[N, C]")
        self.v = self.memory_like("v", x) * self.decay.item() + x
        return torch.tanh(self.v)


def case(factory, fullgraph=True):
    return LayerCase(factory, input_shape=(2, 3), T=3, fullgraph=fullgraph, compile_backend="eager")


def test_the_check_applies_when_the_case_asks_for_it():
    assert "fullgraph" in [check.name for check in checks_for(case(Leaky))]
    assert "fullgraph" not in [check.name for check in checks_for(case(Leaky, fullgraph=False))]


def test_a_traceable_layer_passes_in_both_step_modes():
    check_fullgraph(case(Leaky))


def test_a_host_sync_is_reported_as_a_graph_break_with_its_place():
    with pytest.raises(AssertionError, match=r"SyncsToTheHost \('s'.*graph break.*test_core_fullgraph_check\.py"):
        check_fullgraph(case(SyncsToTheHost))


def test_graph_breaks_lists_nothing_for_a_plain_function_module():
    assert graph_breaks(nn.Linear(3, 2), [torch.randn(2, 3)]) == []
