"""The conformance kit: checks that any spikelayers layer (ours or a third party's)
keeps the step-mode protocol.

Plain use::

    from spikelayers.testing import LayerCase, check_layer
    check_layer(LayerCase(lambda: MyLayer(), input_shape=(4, 8)))

With pytest, one test per check::

    @parametrize_with_checks([LayerCase(lambda: MyLayer(), (4, 8))])
    def test_my_layer(case, check):
        check(case)
"""

from .case import LayerCase, gaussian_input, spike_input
from .checks import (
    CHECKS,
    Check,
    check_bad_input_rank,
    check_chunked_sequence,
    check_compile,
    check_copy_and_pickle_mid_sequence,
    check_gradients_flow,
    check_layer,
    check_multi_step_matches_single_step,
    check_reset_restores_initial_state,
    check_state_dict_round_trip,
    check_step_mode_validation,
    checks_for,
    parametrize_with_checks,
    run_sequence,
)
from .compare import assert_close, relative_error
from .compile import check_fullgraph, graph_breaks
from .kernels import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, kernel_tolerance, triton_test_device
from .registry import installed_cases
from .robustness import InputVariant, check_autocast, check_input_variant, make_input
from .sequence_checks import check_dtype_change, check_empty_sequence, check_integer_spikes
from .signature import check_namespace_signatures, check_signature, reference_parameters

__all__ = [
    "CHECKS",
    "KERNEL_TEST_DTYPES",
    "KERNEL_TEST_STEPS",
    "Check",
    "InputVariant",
    "LayerCase",
    "assert_close",
    "check_autocast",
    "check_bad_input_rank",
    "check_chunked_sequence",
    "check_compile",
    "check_copy_and_pickle_mid_sequence",
    "check_dtype_change",
    "check_empty_sequence",
    "check_fullgraph",
    "check_gradients_flow",
    "check_input_variant",
    "check_integer_spikes",
    "check_layer",
    "check_multi_step_matches_single_step",
    "check_namespace_signatures",
    "check_reset_restores_initial_state",
    "check_signature",
    "check_state_dict_round_trip",
    "check_step_mode_validation",
    "checks_for",
    "gaussian_input",
    "graph_breaks",
    "installed_cases",
    "kernel_tolerance",
    "make_input",
    "parametrize_with_checks",
    "reference_parameters",
    "relative_error",
    "run_sequence",
    "spike_input",
    "triton_test_device",
]
