import inspect
import os
import subprocess
import sys
import types

import pytest

from spikelayers import catalog, hookspecs, layer, namespaces, plugins
from spikelayers.errors import PluginConflictError, PluginNotInstalledError
from spikelayers.hookspecs import hookimpl


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def test_every_hook_is_documented():
    hooks = [obj for name, obj in vars(hookspecs).items() if name.startswith("spikelayers_")]
    assert len(hooks) >= 5
    for hook in hooks:
        doc = inspect.getdoc(hook) or ""
        assert "Called" in doc and len(doc) > 80, f"{hook.__name__} needs a docstring saying when it is called"


def test_importing_spikelayers_loads_no_plugin_module():
    result = run_python(
        "import sys, spikelayers; from spikelayers import layer;"
        "print(sorted(m for m in sys.modules if m.startswith('spikelayers_') or m == 'spikelayers.containers'))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_names_resolve_lazily_on_first_use():
    result = run_python(
        "import sys; from spikelayers import layer; layer.StepModeContainer;"
        "print('spikelayers.containers' in sys.modules)"
    )
    assert result.stdout.strip() == "True", result.stderr


def test_known_name_of_a_missing_plugin_names_the_distribution(monkeypatch):
    monkeypatch.setitem(catalog.KNOWN["layer"], "Imaginary", "spikelayers-imaginary")
    with pytest.raises(PluginNotInstalledError, match="pip install spikelayers-imaginary") as caught:
        layer.Imaginary
    assert caught.value.distribution == "spikelayers-imaginary"
    assert isinstance(caught.value, AttributeError)
    assert not hasattr(layer, "Imaginary")


def test_from_import_of_an_excluded_or_missing_plugin_raises_import_error_with_the_reason():
    result = run_python("from spikelayers.neuron import LIFNode", SPIKELAYERS_PLUGINS="none")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "spikelayers-neuron" in result.stderr
    assert ("pip install spikelayers-neuron" in result.stderr) or ("SPIKELAYERS_PLUGINS='none'" in result.stderr)


def test_a_name_of_a_plugin_excluded_by_the_variable_says_so_not_that_it_is_missing():
    code = (
        "from spikelayers import layer, plugins\n"
        "installed = 'synapse' in plugins.get_registry().plugins\n"
        "try:\n    layer.SynapseFilter\n"
        "except AttributeError as error:\n    print(installed, type(error).__name__, error)\n"
    )
    result = run_python(code, SPIKELAYERS_PLUGINS="none")
    installed, kind, message = result.stdout.split(" ", 2)
    if installed == "True":
        assert kind == "PluginFilteredError"
        assert "installed" in message and "SPIKELAYERS_PLUGINS='none'" in message and "not installed" not in message
    else:
        assert kind == "PluginNotInstalledError", result.stderr


def test_plugin_not_installed_error_is_an_attribute_error():
    error = PluginNotInstalledError("layer", "Delay", "spikelayers-synapse")
    assert isinstance(error, AttributeError)
    assert "pip install spikelayers-synapse" in str(error)


def test_a_name_of_another_namespace_points_there():
    with pytest.raises(AttributeError, match=r"it is spikelayers\.neuron\.LIFNode"):
        layer.LIFNode
    assert not hasattr(layer, "LIFNode")


def test_unknown_name_suggests_close_matches():
    with pytest.raises(AttributeError, match="did you mean MultiStepContainer"):
        layer.MultiStepContaner


def test_dir_lists_installed_names():
    assert {"MultiStepContainer", "SeqToANNContainer", "StepModeContainer", "PrintShapeModule"} <= set(dir(layer))


def _fake_plugin(name: str, provides: dict) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def spikelayers_provides():
        return provides

    module.spikelayers_provides = spikelayers_provides
    return module


def test_two_plugins_providing_one_name_lose_it_naming_both(clean_registry):
    plugins.register_plugin(_fake_plugin("first_plugin", {"layer": {"Twin": "torch.nn:Identity"}}), "first")
    plugins.register_plugin(_fake_plugin("second_plugin", {"layer": {"Twin": "torch.nn:ReLU"}}), "second")
    with pytest.raises(PluginConflictError, match=r"Twin.*'first'.*'second'|Twin.*'second'.*'first'"):
        layer.Twin
    assert layer.MultiStepContainer.__name__ == "MultiStepContainer"
    statuses = {name: info.status for name, info in plugins.get_registry().plugins.items()}
    assert statuses["first"] == statuses["second"] == "conflicting"


def test_a_registered_plugin_contributes_names(clean_registry):
    plugins.register_plugin(_fake_plugin("identity_plugin", {"layer": {"Passthrough": "torch.nn:Identity"}}))
    import torch

    assert layer.Passthrough is torch.nn.Identity
    assert "Passthrough" in dir(layer)


def test_unknown_namespace_marks_only_that_plugin_broken(clean_registry):
    plugins.register_plugin(_fake_plugin("odd_plugin", {"layers": {"X": "torch.nn:Identity"}}))
    info = plugins.get_registry().plugins["odd_plugin"]
    assert info.status == "broken" and "unknown namespace 'layers'" in info.reason
    assert "MultiStepContainer" in namespaces.names("layer")


def test_builtin_plugin_registers_through_the_hooks():
    registry = plugins.get_registry()
    assert registry.plugins["core"].distribution == "spikelayers-core"
    assert registry.owners["layer"]["MultiStepContainer"] == "core"


def test_environment_variable_restricts_plugins():
    code = (
        "from spikelayers import plugins; r = plugins.get_registry();"
        "print(sorted(n for n, p in r.plugins.items() if p.status == 'ok'),"
        " sorted({p.status for n, p in r.plugins.items() if n != 'core'} or {'filtered'}))"
    )
    result = run_python(code, SPIKELAYERS_PLUGINS="none")
    assert result.stdout.strip() == "['core'] ['filtered']", result.stderr


@pytest.mark.parametrize(
    ("raw", "admitted", "excluded"),
    [
        (None, ["neuron", "bad"], []),
        ("", ["neuron"], []),
        ("none", [], ["neuron", "bad"]),
        ("neuron, norm", ["neuron", "norm"], ["bad"]),
        ("-bad", ["neuron", "norm"], ["bad"]),
        ("neuron,-neuron", [], ["neuron"]),
    ],
)
def test_selection_reads_allow_and_deny_lists(raw, admitted, excluded):
    selection = plugins.parse_selection(raw)
    assert all(selection.admits(name) for name in admitted)
    assert not any(selection.admits(name) for name in excluded)


def test_the_catalogue_matches_what_the_installed_plugins_provide():
    registry = plugins.get_registry()
    installed = {info.distribution for info in registry.plugins.values() if info.healthy}
    for namespace, names in catalog.KNOWN.items():
        for name, distribution in names.items():
            if distribution in installed:
                owner = registry.plugins[registry.owners[namespace].get(name, "core")]
                assert name in registry.targets[namespace], f"{distribution} does not provide {namespace}.{name}"
                assert owner.distribution == distribution, f"{namespace}.{name} comes from {owner.distribution}"
    for namespace, owners in registry.owners.items():
        for name, plugin in owners.items():
            distribution = registry.plugins[plugin].distribution
            if distribution and distribution.startswith("spikelayers"):
                assert catalog.distribution_for(namespace, name) == distribution, (
                    f"{namespace}.{name} is not catalogued"
                )
