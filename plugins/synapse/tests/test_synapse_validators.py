"""The synapse layers check their arguments with the core's validators."""

import pytest

from spikelayers_synapse.delay import Delay
from spikelayers_synapse.filter import SynapseFilter


@pytest.mark.parametrize("tau", [float("inf"), float("nan"), "3", True])
def test_tau_must_be_a_finite_number_above_one(tau):
    with pytest.raises(ValueError, match=r"^SynapseFilter: tau must be a"):
        SynapseFilter(tau)


@pytest.mark.parametrize("steps", [-1, 1.5, True])
def test_delay_steps_get_the_core_message(steps):
    with pytest.raises(ValueError, match=rf"^Delay: delay_steps must be a non-negative int, got {steps!r}$"):
        Delay(steps)
