"""Our layers against SpikingJelly 2.0.0: its state_dicts load strictly, and outputs,
input and parameter gradients and buffers after the calls agree (float64).

The fixture was recorded by ``scripts/make_sj2_fixtures.py``; where spikingjelly is
importable the same cases are also recorded live and compared.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

from spikelayers import layer
from spikelayers.testing.reference_fixtures import check_against_fixture

FIXTURES = torch.load(Path(__file__).parent / "fixtures" / "sj2.pt", weights_only=True)
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "make_sj2_fixtures.py"


def build(fixture):
    return getattr(layer, fixture["class"])(*fixture["args"], **fixture["kwargs"])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_matches_recorded_spikingjelly(name):
    check_against_fixture(build(FIXTURES[name]), FIXTURES[name], name)


def test_matches_live_spikingjelly():
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import layer as sj

    spec = importlib.util.spec_from_file_location("make_sj2_fixtures", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    live = script.stateless_cases(sj)
    assert sorted(live) == sorted(FIXTURES)
    for name, fixture in live.items():
        check_against_fixture(build(fixture), fixture, f"{name} (live)")
