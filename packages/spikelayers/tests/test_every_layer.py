"""Checks run on every installed layer at once: torch.compile, autocast, unusual inputs."""

import dataclasses

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikelayers.testing import InputVariant, check_autocast, check_compile, check_input_variant, installed_cases

CASES = installed_cases()
# One configuration per class keeps the slow checks to one per layer.
ONE_PER_CLASS = list({type(case.build()).__name__: case for case in reversed(CASES)}.values())

# Layers that torch.compile cannot take whole, and why (also listed in the docs).
COMPILE_EXCLUDED: dict[str, str] = {}


def test_every_family_contributes_cases():
    modules = {type(case.build()).__module__.split(".")[0] for case in CASES}
    expected = {
        f"spikelayers_{family}"
        for family in ("stateless", "norm", "ws", "dropout", "synapse", "recurrent", "attention", "neuron", "ottt")
    }
    assert expected <= modules


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in ONE_PER_CLASS if c.id not in COMPILE_EXCLUDED], ids=lambda c: c.id)
def test_compiled_layer_matches_eager(case):
    check_compile(dataclasses.replace(case, compile=True, rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-4)))


@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=lambda c: c.id)
def test_layer_under_bfloat16_autocast_stays_close_to_float32(case):
    if case.dtype != torch.float32:
        pytest.fail(f"{case.id}: autocast is checked on float32 cases")
    check_autocast(case)


variants = st.builds(
    InputVariant,
    T=st.integers(1, 5),
    batch=st.integers(0, 3),
    layout=st.sampled_from(["contiguous", "strided", "channels_last"]),
    special=st.sampled_from([None, "nan", "inf"]),
)


@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=lambda c: c.id)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variant=variants)
def test_unusual_inputs_give_the_reference_answer_or_a_clear_error(case, variant):
    if case.chunkable is False and "m" in case.modes():
        variant = dataclasses.replace(variant, T=case.T)
    check_input_variant(case, variant)
