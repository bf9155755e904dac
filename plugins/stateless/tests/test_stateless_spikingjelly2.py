"""The stateless layers against SpikingJelly 2.0.0: its state_dicts load strictly, and outputs,
gradients and buffers after recorded (and, where spikingjelly is importable, live) calls
agree (see :func:`spikelayers.testing.reference_fixtures.spikingjelly_tests`)."""

from spikelayers import layer
from spikelayers.testing.reference_fixtures import spikingjelly_tests

test_matches_recorded_spikingjelly, test_matches_live_spikingjelly = spikingjelly_tests(
    __file__, "stateless_cases", layer
)
