import inspect
import os
import subprocess
import sys
import types

import pytest

from spikelayers import hookspecs, layer, namespaces, plugins
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


def test_known_name_of_a_missing_plugin_names_the_distribution():
    code = (
        "from spikelayers import layer\n"
        "try:\n    layer.SynapseFilter\n"
        "except ImportError as error:\n    print(type(error).__name__, error.distribution)\n"
    )
    result = run_python(code, SPIKELAYERS_PLUGINS="none")
    assert result.stdout.split() == ["PluginNotInstalledError", "spikelayers-synapse"], result.stderr


def test_from_import_of_a_missing_plugin_raises_import_error():
    result = run_python("from spikelayers.neuron import LIFNode", SPIKELAYERS_PLUGINS="none")
    assert result.returncode != 0
    assert "pip install spikelayers-neuron" in result.stderr


def test_plugin_not_installed_error_is_an_import_error():
    error = PluginNotInstalledError("layer", "Delay", "spikelayers-synapse")
    assert isinstance(error, ImportError)
    assert "pip install spikelayers-synapse" in str(error)


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


def test_two_plugins_providing_one_name_fail_naming_both(clean_registry):
    plugins.register_plugin(_fake_plugin("first_plugin", {"layer": {"Twin": "torch.nn:Identity"}}), "first")
    plugins.register_plugin(_fake_plugin("second_plugin", {"layer": {"Twin": "torch.nn:ReLU"}}), "second")
    with pytest.raises(PluginConflictError, match=r"Twin.*'first'.*'second'"):
        namespaces.names("layer")


def test_a_registered_plugin_contributes_names(clean_registry):
    plugins.register_plugin(_fake_plugin("identity_plugin", {"layer": {"Passthrough": "torch.nn:Identity"}}))
    import torch

    assert layer.Passthrough is torch.nn.Identity
    assert "Passthrough" in dir(layer)


def test_unknown_namespace_is_rejected(clean_registry):
    plugins.register_plugin(_fake_plugin("odd_plugin", {"layers": {"X": "torch.nn:Identity"}}))
    with pytest.raises(PluginConflictError, match="unknown namespace 'layers'"):
        namespaces.names("layer")


def test_builtin_plugin_registers_through_the_hooks():
    registry = plugins.get_registry()
    assert registry.plugins["core"].distribution == "spikelayers-core"
    assert registry.owners["layer"]["MultiStepContainer"] == "core"


def test_environment_variable_restricts_plugins():
    result = run_python(
        "from spikelayers import plugins; print(sorted(plugins.get_registry().plugins))", SPIKELAYERS_PLUGINS="none"
    )
    assert result.stdout.strip() == "['core']", result.stderr
