"""Compare a layer with results recorded from another implementation of the same API.

A *fixture* is a dict saved with ``torch.save``: the other layer's initial ``state_dict``,
the inputs of a few consecutive calls, the train/eval mode, and what came out (outputs,
input gradients, parameter gradients, ``state_dict`` after the calls). :func:`run_calls`
produces the results, so the recording script and the test run the same protocol;
:func:`check_against_fixture` loads the ``state_dict`` strictly into our layer, replays
the calls and compares everything (float64, ``rtol=1e-7``, ``atol=1e-9`` by default).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from .compare import assert_close

Call = tuple[torch.Tensor, ...]
Fixture = dict[str, Any]


def _loss_weight(output: torch.Tensor, index: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1000 + index)
    return torch.randn(output.shape, generator=generator, dtype=torch.float64).to(output.dtype)


def run_calls(module: nn.Module, calls: Sequence[Call], train: bool) -> dict[str, Any]:
    """Call ``module(*call)`` for each call, then backward a fixed weighted sum of the outputs.

    Returns ``outputs``, ``input_grads`` (per call, per floating input; ``None`` for
    others), ``param_grads`` and ``state_after`` (the ``state_dict`` after the calls).
    """
    module.train(train)
    inputs = [tuple(t.detach().clone().requires_grad_(t.is_floating_point()) for t in call) for call in calls]
    outputs = [module(*call) for call in inputs]
    loss = sum(
        (out * _loss_weight(out, index)).sum()
        for index, out in enumerate(outputs)
        if out.is_floating_point() and out.requires_grad
    )
    if isinstance(loss, torch.Tensor):
        loss.backward()
    return {
        "outputs": [out.detach().clone() for out in outputs],
        "input_grads": [[t.grad for t in call] for call in inputs],
        "param_grads": {name: p.grad for name, p in module.named_parameters()},
        "state_after": {name: value.detach().clone() for name, value in module.state_dict().items()},
    }


def record(module: nn.Module, calls: Sequence[Call], train: bool) -> dict[str, Any]:
    """A fixture of ``module`` (already in float64): its ``state_dict``, the calls and their results."""
    state = {name: value.detach().clone() for name, value in module.state_dict().items()}
    stored = [tuple(t.detach().clone() for t in call) for call in calls]
    return {"state_dict": state, "calls": stored, "train": train, **run_calls(module, calls, train)}


def check_against_fixture(
    module: nn.Module, fixture: dict[str, Any], label: str, rtol: float = 1e-7, atol: float = 1e-9
) -> None:
    """Load ``fixture['state_dict']`` strictly into ``module`` (made float64), replay, compare."""
    module = module.double()
    module.load_state_dict(fixture["state_dict"], strict=True)
    ours = {name: value for name, value in module.state_dict().items()}
    for name, value in fixture["state_dict"].items():
        if ours[name].dtype != value.dtype or ours[name].shape != value.shape:
            raise AssertionError(
                f"{label}: state_dict entry {name!r} is {ours[name].dtype} {tuple(ours[name].shape)}, "
                f"the fixture's {value.dtype} {tuple(value.shape)}"
            )
    result = run_calls(module, fixture["calls"], fixture["train"])
    for key in ("outputs", "input_grads"):
        assert_close(result[key], fixture[key], f"{label}: {key}", rtol=rtol, atol=atol)
    if result["param_grads"].keys() != fixture["param_grads"].keys():
        raise AssertionError(f"{label}: parameters {sorted(result['param_grads'])} vs {sorted(fixture['param_grads'])}")
    for name, grad in fixture["param_grads"].items():
        assert_close(result["param_grads"][name], grad, f"{label}: gradient of {name}", rtol=rtol, atol=atol)
    for name, value in fixture["state_after"].items():
        assert_close(result["state_after"][name], value, f"{label}: {name} after the calls", rtol=rtol, atol=atol)


def load_fixtures(path: Path) -> dict[str, Fixture]:
    """The named fixtures saved by the recording script at ``path``."""
    return torch.load(path, weights_only=True)


def build_from_fixture(namespace: ModuleType, fixture: Fixture) -> nn.Module:
    """``namespace.<fixture['class']>(*fixture['args'], **fixture['kwargs'])``."""
    return getattr(namespace, fixture["class"])(*fixture["args"], **fixture["kwargs"])


def record_with_script(script: Path, cases: str, reference: ModuleType) -> dict[str, Fixture]:
    """Record live the fixtures of ``cases(reference)``, a function of the recording script ``script``."""
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, cases)(reference)


def check_fixtures(build: Callable[[Fixture], nn.Module], fixtures: Mapping[str, Fixture], suffix: str = "") -> None:
    """:func:`check_against_fixture` for each named fixture, on the layer ``build(fixture)`` makes."""
    for name, fixture in fixtures.items():
        check_against_fixture(build(fixture), fixture, f"{name}{suffix}")


SCRIPT_NAME = "make_sj2_fixtures.py"


def spikingjelly_tests(test_file: str, cases: str, namespace: ModuleType) -> tuple[Callable, Callable]:
    """The two pytest tests of a family's layers against SpikingJelly 2.0.0.

    ``test_file`` is the test module's ``__file__``: the fixtures are ``fixtures/sj2.pt``
    beside it, recorded by the function ``cases`` of ``scripts/make_sj2_fixtures.py`` (in
    the nearest parent folder that has it); ``namespace`` (e.g. ``spikelayers.layer``)
    names the classes. The first test replays every recorded fixture on our layer; the
    second, where spikingjelly is importable, records the same cases live, requires the
    same names and compares them too. Assign both to ``test_*`` names of the module.
    """
    import pytest

    directory = Path(test_file).resolve().parent
    fixtures = load_fixtures(directory / "fixtures" / "sj2.pt")
    build = partial(build_from_fixture, namespace)
    folders = [folder for folder in directory.parents if (folder / "scripts" / SCRIPT_NAME).is_file()]
    script = (folders[0] if folders else directory) / "scripts" / SCRIPT_NAME

    @pytest.mark.parametrize("name", sorted(fixtures))
    def test_matches_recorded_spikingjelly(name: str) -> None:
        check_against_fixture(build(fixtures[name]), fixtures[name], name)

    def test_matches_live_spikingjelly() -> None:
        pytest.importorskip("spikingjelly")
        from spikingjelly.activation_based import layer as sj

        live = record_with_script(script, cases, sj)
        if sorted(live) != sorted(fixtures):
            raise AssertionError(f"{cases}: live cases {sorted(live)}, recorded {sorted(fixtures)}")
        check_fixtures(build, live, " (live)")

    return test_matches_recorded_spikingjelly, test_matches_live_spikingjelly
