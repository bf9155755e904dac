"""Our layers against SpikingJelly 2.0.0: its state_dicts load strictly, and outputs,
input and parameter gradients and buffers after the calls agree (float64).

The fixture was recorded by ``scripts/make_sj2_fixtures.py``; where spikingjelly is
importable the same cases are also recorded live and compared.
"""

from pathlib import Path

import pytest

from spikelayers import layer
from spikelayers.testing.reference_fixtures import (
    build_from_fixture,
    check_against_fixture,
    check_fixtures,
    load_fixtures,
    record_with_script,
)

FIXTURES = load_fixtures(Path(__file__).parent / "fixtures" / "sj2.pt")
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "make_sj2_fixtures.py"


def build(fixture):
    return build_from_fixture(layer, fixture)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_matches_recorded_spikingjelly(name):
    check_against_fixture(build(FIXTURES[name]), FIXTURES[name], name)


def test_matches_live_spikingjelly():
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import layer as sj

    live = record_with_script(SCRIPT, "stateless_cases", sj)
    assert sorted(live) == sorted(FIXTURES)
    check_fixtures(build, live, " (live)")
