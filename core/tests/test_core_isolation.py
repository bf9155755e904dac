"""One broken third-party plugin affects only its own names.

Each fake plugin is a real distribution on ``sys.path`` (a ``.dist-info`` folder with
``METADATA`` and ``entry_points.txt``), found by discovery like any installed plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spikelayers import cli, layer, plugins
from spikelayers.errors import PluginBrokenError, PluginConflictError, PluginFilteredError, PluginUnavailableError

BOOM = "RuntimeError('boom')"


def make_distribution(root: Path, name: str, plugin: str, value: str, source: str | None = None) -> None:
    """Write the distribution ``name`` 1.0 whose entry point ``plugin = value`` is in the
    group ``spikelayers``; ``source`` is the plugin module's code, if any."""
    dist_info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[spikelayers]\n{plugin} = {value}\n")
    if source is not None:
        (root / f"{value.partition(':')[0]}.py").write_text(textwrap.dedent(source))


PROVIDES = """
from spikelayers.hookspecs import hookimpl

@hookimpl
def spikelayers_provides():
    return {answer}
"""

FAKES = {
    "raises-on-import": ("fake_import_boom", f"raise {BOOM}\n"),
    "missing-module": ("fake_no_such_module_anywhere", None),
    "raises-in-hook": (
        "fake_hook_boom",
        f"from spikelayers.hookspecs import hookimpl\n\n@hookimpl\ndef spikelayers_provides():\n    raise {BOOM}\n",
    ),
    "bad-namespace": ("fake_bad_namespace", PROVIDES.format(answer="{'layers': {'FakeBad': 'torch.nn:Identity'}}")),
    "bad-mapping": ("fake_bad_mapping", PROVIDES.format(answer="{'layer': ['FakeBad']}")),
    "clashes": (
        "fake_clash",
        PROVIDES.format(
            answer="{'layer': {'Conv2d': 'torch.nn:Conv2d', 'MultiStepContainer': 'torch.nn:Identity', "
            "'FakeClashExtra': 'torch.nn:Identity'}}"
        ),
    ),
}


@pytest.fixture
def with_fake(request, tmp_path, monkeypatch, clean_registry):
    kind = request.param
    module, source = FAKES[kind]
    make_distribution(tmp_path, f"fake-{kind}", "fakeplugin", module, source)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.reload()
    yield kind
    sys.modules.pop(module, None)
    monkeypatch.undo()
    plugins.reload()


def _builtin_names_still_work() -> None:
    registry = plugins.get_registry()
    for namespace, owners in registry.owners.items():
        for name, owner in owners.items():
            if not owner.startswith("fake"):
                obj = getattr(__import__(f"spikelayers.{namespace}", fromlist=["_"]), name)
                assert obj is not None, f"{namespace}.{name}"
    assert layer.MultiStepContainer.__module__ == "spikelayers.containers"
    if "stateless" in registry.plugins and registry.plugins["stateless"].healthy:
        assert layer.Conv2d.__module__.startswith("spikelayers_stateless")


@pytest.mark.parametrize("with_fake", list(FAKES), indirect=True)
def test_a_broken_plugin_affects_only_its_own_names(with_fake, capsys):
    kind = with_fake
    info = plugins.get_registry().plugins["fakeplugin"]
    assert info.status == ("conflicting" if kind == "clashes" else "broken")
    assert info.distribution == f"fake-{kind}" and info.version == "1.0"
    _builtin_names_still_work()

    own_name = "FakeClashExtra" if kind == "clashes" else "FakeOwnName"
    error_type = PluginConflictError if kind == "clashes" else PluginBrokenError
    with pytest.raises(error_type) as caught:
        getattr(layer, own_name)
    message = str(caught.value)
    assert "'fakeplugin'" in message and f"'fake-{kind}' 1.0" in message
    assert "SPIKELAYERS_PLUGINS=-fakeplugin" in message
    assert isinstance(caught.value, PluginUnavailableError) and isinstance(caught.value, AttributeError)
    if kind == "clashes":
        assert "spikelayers.layer.MultiStepContainer" in message
    else:
        assert caught.value.__cause__ is info.error is not None
        assert ("boom" in message) == (kind in ("raises-on-import", "raises-in-hook"))
    assert not hasattr(layer, own_name)

    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "fakeplugin" in out and f"[{info.status.upper()}]" in out and f"fake-{kind}" in out
    assert cli.main(["plugins", "--check"]) == 1
    assert "fakeplugin" in capsys.readouterr().err


@pytest.mark.parametrize("with_fake", ["clashes"], indirect=True)
def test_a_clash_keeps_the_name_with_its_catalogued_owner(with_fake):
    registry = plugins.get_registry()
    assert registry.owners["layer"]["MultiStepContainer"] == "core"
    assert "FakeClashExtra" not in registry.targets["layer"]
    assert registry.claimed["layer"]["FakeClashExtra"] == ("fakeplugin",)


@pytest.mark.parametrize("with_fake", ["raises-on-import"], indirect=True)
def test_a_deny_list_excludes_the_broken_plugin(with_fake, monkeypatch, capsys):
    monkeypatch.setenv("SPIKELAYERS_PLUGINS", "-fakeplugin")
    plugins.reload()
    info = plugins.get_registry().plugins["fakeplugin"]
    assert info.status == "filtered" and "SPIKELAYERS_PLUGINS='-fakeplugin'" in info.reason
    assert "fake_import_boom" not in sys.modules
    with pytest.raises(AttributeError, match="excluded by SPIKELAYERS_PLUGINS") as caught:
        layer.FakeOwnName
    assert not isinstance(caught.value, PluginBrokenError)
    assert cli.main(["plugins", "--check"]) == 0
    capsys.readouterr()


def test_a_filtered_plugin_of_a_catalogued_name_says_it_is_excluded(tmp_path, monkeypatch, clean_registry):
    from spikelayers import catalog

    make_distribution(tmp_path, "fake-good", "fakegood", "fake_good_plugin", PROVIDES.format(answer="{}"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(catalog.KNOWN["layer"], "FakeGood", "fake-good")
    monkeypatch.setenv("SPIKELAYERS_PLUGINS", "-fakegood")
    plugins.reload()
    with pytest.raises(PluginFilteredError, match=r"'fake-good', which is installed.*SPIKELAYERS_PLUGINS='-fakegood'"):
        layer.FakeGood


def test_importing_spikelayers_with_a_broken_plugin_installed_runs_no_plugin_code(tmp_path):
    module, source = FAKES["raises-on-import"]
    make_distribution(tmp_path, "fake-boom", "fakeplugin", module, source)
    code = "import sys, spikelayers; from spikelayers import layer, neuron; print(sorted(m for m in sys.modules if m.startswith('fake_')))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    listing = subprocess.run(
        [sys.executable, "-m", "spikelayers.cli", "plugins"], capture_output=True, text=True, env=env, check=False
    )
    assert listing.returncode == 0, listing.stderr
    assert "fakeplugin  fake-boom 1.0  [BROKEN]" in listing.stdout
    assert "RuntimeError: boom" in listing.stdout


class RaisingCommandsPlugin:
    from spikelayers.hookspecs import hookimpl

    @hookimpl
    def spikelayers_add_commands(self, subparsers):
        raise RuntimeError("commands boom")


def test_a_plugin_whose_command_hook_raises_leaves_the_command_line_working(clean_registry, capsys):
    plugins.register_plugin(RaisingCommandsPlugin(), name="raising-commands")
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "raising-commands" in out and "adds commands only" in out and "commands boom" in out
    assert cli.main(["plugins", "--check"]) == 1


def test_hook_results_calls_each_plugin_alone(clean_registry):
    class Answers:
        from spikelayers.hookspecs import hookimpl

        @hookimpl
        def spikelayers_bench_cases(self):
            return ["answer"]

    class Raises:
        from spikelayers.hookspecs import hookimpl

        @hookimpl
        def spikelayers_bench_cases(self):
            raise ValueError("no cases")

    plugins.register_plugin(Answers(), name="a-answers")
    plugins.register_plugin(Raises(), name="b-raises")
    results = [(info.name, found) for info, found in plugins.hook_results("spikelayers_bench_cases")]
    assert ("a-answers", ["answer"]) in results
    assert "b-raises" not in [name for name, _ in results]
    problem = plugins.get_registry().problems()["b-raises"][0]
    assert problem.hook == "spikelayers_bench_cases" and isinstance(problem.error, ValueError)
    assert plugins.hook_results("spikelayers_no_such_hook") == []


def test_a_name_whose_module_fails_to_import_fails_alone(tmp_path, monkeypatch, clean_registry, capsys):
    answer = "{'layer': {'FakeLazy': 'fake_lazy_target:Thing'}}"
    make_distribution(tmp_path, "fake-lazy", "fakelazy", "fake_lazy_plugin", PROVIDES.format(answer=answer))
    (tmp_path / "fake_lazy_target.py").write_text(f"raise {BOOM}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.reload()
    with pytest.raises(PluginBrokenError, match=r"FakeLazy.*'fakelazy'.*RuntimeError: boom") as caught:
        layer.FakeLazy
    assert isinstance(caught.value.__cause__, RuntimeError)
    _builtin_names_still_work()
    assert cli.main(["plugins"]) == 0
    assert "failed to import: RuntimeError: boom" in capsys.readouterr().out
    assert cli.main(["plugins", "--check"]) == 1
    sys.modules.pop("fake_lazy_plugin", None)
