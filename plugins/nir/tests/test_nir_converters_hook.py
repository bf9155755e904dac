"""Converters are discovered per plugin through the ``spikelayers_nir_converters`` hook."""

from __future__ import annotations

import sys
import types

import nir
import numpy as np
import pytest
import torch
from torch import nn

from spikelayers import layer, neuron, plugins
from spikelayers.hookspecs import hookimpl
from spikelayers_nir import ConverterDiscoveryError, NIRExportError, NIRImportError, from_nir, to_nir
from spikelayers_nir.registry import collect_converters, get_converters


@pytest.fixture
def register():
    """``register(module, name)`` adds a plugin for this test only."""
    names: list[str] = []

    def add(module: types.ModuleType, name: str) -> None:
        names.append(name)
        plugins.register_plugin(module, name)

    yield add
    for name in names:
        plugins.unregister_plugin(name)


class Doubler(nn.Module):
    """A third-party layer: ``y = 2 x``."""

    def forward(self, x):
        return 2 * x


class LoudDoubler(Doubler):
    pass


def export_doubler(module: Doubler, context) -> nir.Scale:
    return nir.Scale(scale=np.full(context.input_shape, 2.0))


def export_doubler_and_subclasses(module: Doubler, context) -> nir.Scale:
    return export_doubler(module, context)


export_doubler_and_subclasses.match_subclasses = True


def import_scale(node: nir.Scale, context) -> nn.Module:
    return Doubler()


def _plugin(name: str, answer) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def spikelayers_nir_converters():
        if isinstance(answer, Exception):
            raise answer
        return answer

    module.spikelayers_nir_converters = spikelayers_nir_converters
    return module


@pytest.fixture
def this_module():
    """The name under which pytest imported this file, so converters here load by string."""
    assert __name__ in sys.modules
    return __name__


def test_every_family_contributes_through_the_hook():
    converters = collect_converters()
    owners = {claim.plugin for claim in converters.exporters.values()}
    assert {"stateless", "neuron", "norm", "ws", "dropout", "synapse", "ottt", "nir"} <= owners
    assert converters.importers["LIF"].plugin == "neuron"
    assert converters.errors == {}


def test_a_third_party_plugin_makes_its_layer_exportable_and_importable(register, this_module):
    register(
        _plugin(
            "doubler_plugin",
            {
                "exporters": {f"{this_module}:Doubler": f"{this_module}:export_doubler"},
                "importers": {"Scale": f"{this_module}:import_scale"},
            },
        ),
        "doubler",
    )
    net = nn.Sequential(layer.Linear(2, 2), Doubler())
    graph = to_nir(net, torch.zeros(1, 2))
    assert isinstance(graph.nodes["1"], nir.Scale)
    assert isinstance(from_nir(graph)[1], Doubler)
    with pytest.raises(NIRExportError, match=r"LoudDoubler.*no installed plugin"):
        to_nir(nn.Sequential(layer.Linear(2, 2), LoudDoubler()), torch.zeros(1, 2))


def test_a_converter_may_opt_in_to_subclasses(register, this_module):
    register(
        _plugin(
            "doubler_plugin", {"exporters": {f"{this_module}:Doubler": f"{this_module}:export_doubler_and_subclasses"}}
        ),
        "doubler",
    )
    graph = to_nir(nn.Sequential(layer.Linear(2, 2), LoudDoubler()), torch.zeros(1, 2))
    assert isinstance(graph.nodes["1"], nir.Scale)


def test_two_plugins_claiming_one_class_fail_naming_both(register, this_module):
    claim = {"exporters": {"spikelayers_neuron.node:LIFNode": f"{this_module}:export_doubler"}}
    register(_plugin("rival_plugin", claim), "rival")
    with pytest.raises(ConverterDiscoveryError, match=r"LIFNode.*'neuron'.*'rival'|LIFNode.*'rival'.*'neuron'"):
        get_converters()


def test_two_plugins_claiming_one_node_type_fail_naming_both(register, this_module):
    register(_plugin("rival_plugin", {"importers": {"LIF": f"{this_module}:import_scale"}}), "rival")
    with pytest.raises(ConverterDiscoveryError, match=r"NIR node type LIF.*'(neuron|rival)'.*'(neuron|rival)'"):
        collect_converters()


def test_a_broken_plugin_breaks_only_its_own_layers(register, this_module):
    register(_plugin("broken_plugin", RuntimeError("boom")), "broken")
    register(_plugin("malformed_plugin", {"exporters": {"x:Y": 3}}), "malformed")
    converters = get_converters()
    assert "boom" in converters.errors["broken"]
    assert "malformed" in converters.errors
    graph = to_nir(nn.Sequential(layer.Linear(2, 2), neuron.IFNode()), torch.zeros(1, 2))
    assert isinstance(graph.nodes["1"], nir.IF)
    with pytest.raises(NIRExportError, match="broken: RuntimeError: boom"):
        to_nir(nn.Sequential(Doubler()), torch.zeros(1, 2))


def test_a_converter_that_cannot_be_imported_names_its_plugin(register, this_module):
    register(
        _plugin("typo_plugin", {"exporters": {f"{this_module}:Doubler": "no_such_module_anywhere:export"}}), "typo"
    )
    with pytest.raises(NIRExportError, match="no_such_module_anywhere:export of plugin 'typo'"):
        to_nir(nn.Sequential(Doubler()), torch.zeros(1, 2))


def test_family_hooks_import_neither_nir_nor_their_converters():
    import os
    import subprocess

    code = (
        "import sys; from spikelayers.plugins import get_plugin_manager;"
        "answers = get_plugin_manager().hook.spikelayers_nir_converters(); assert len(answers) >= 7, answers;"
        "bad = [m for m in sys.modules if m.endswith('nir_converters') or m.split('.')[0] in ('nir', 'nirtorch')];"
        "assert not bad, bad"
    )
    families = "stateless,neuron,norm,ws,dropout,synapse,ottt"
    env = {**os.environ, "SPIKELAYERS_PLUGINS": families}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def failing_exporter(module, context):
    raise KeyError("missing field")


def failing_importer(node, context):
    raise KeyError("missing field")


def test_a_converter_that_fails_is_reported_with_the_layer_and_the_plugin(register, this_module):
    register(
        _plugin(
            "failing_plugin",
            {
                "exporters": {f"{this_module}:Doubler": f"{this_module}:failing_exporter"},
                "importers": {"Scale": f"{this_module}:failing_importer"},
            },
        ),
        "failing",
    )
    with pytest.raises(NIRExportError, match=r"layer '0' \(Doubler\).*plugin 'failing'.*KeyError"):
        to_nir(nn.Sequential(Doubler()), torch.zeros(1, 2))
    with pytest.raises(NIRImportError, match=r"node 'scale' \(Scale\).*plugin 'failing'.*KeyError"):
        from_nir(nir.NIRGraph.from_list(nir.Scale(scale=np.ones(2))))
