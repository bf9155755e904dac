import torch

from spikelayers.testing import LayerCase, parametrize_with_checks
from spikelayers_example.trace import ExponentialTrace


@parametrize_with_checks([LayerCase(lambda: ExponentialTrace(decay=0.5), input_shape=(3, 4), T=6, rank_checks=())])
def test_exponential_trace_conforms(case, check):
    check(case)


def test_exponential_trace_values():
    trace = ExponentialTrace(decay=0.5, step_mode="m")
    y = trace(torch.tensor([[1.0], [0.0], [2.0]]))
    assert torch.equal(y, torch.tensor([[1.0], [0.5], [2.25]]))
