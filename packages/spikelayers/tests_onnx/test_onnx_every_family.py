"""ONNX models of one layer of every family, run in onnxruntime, equal eager PyTorch."""

import dataclasses

import pytest

from spikelayers.export import ExportError, to_onnx
from spikelayers.testing import installed_cases
from spikelayers.testing.export import check_onnx

CASES = {case.id: case for case in installed_cases()}

# One stateful layer per family where the family has one (its state travels through the model).
ONE_PER_FAMILY = {
    "stateless": "Conv2d",
    "norm": "NeuNorm",
    "ws": "WSConv2d",
    "dropout": "Dropout2d",
    "synapse": "SynapseFilter",
    "recurrent": "LinearRecurrentContainer",
    "attention": "MultiDimensionalAttention",
    "neuron": "LIFNode",
    "ottt": "OTTTSequential",
}
# Sequences of 6 steps fed in two chunks to a multi-step model with explicit state.
CHUNKED = ["Delay-3", "SynapseFilter", "LIFNode", "NeuNorm"]


def _params():
    for family, case_id in ONE_PER_FAMILY.items():
        for mode in CASES[case_id].modes():
            yield pytest.param(CASES[case_id], mode, id=f"{family}-{case_id}-{mode}")


@pytest.mark.parametrize(("case", "mode"), list(_params()))
def test_onnx_model_in_onnxruntime_matches_eager(case, mode, tmp_path):
    check_onnx(case, mode, tmp_path)


@pytest.mark.parametrize("case_id", CHUNKED)
def test_multi_step_onnx_model_with_state_streams_chunks(case_id, tmp_path):
    check_onnx(dataclasses.replace(CASES[case_id], T=6), "m", tmp_path, chunks=2)


def test_every_family_has_an_onnx_case():
    modules = {type(CASES[case_id].build()).__module__.split(".")[0] for case_id in ONE_PER_FAMILY.values()}
    assert modules == {f"spikelayers_{family}" for family in ONE_PER_FAMILY}


def test_a_layer_that_cannot_be_exported_raises_an_error_naming_it(tmp_path):
    case = CASES["TemporalEffectiveBatchNorm2d-eval"]
    layer = case.build()
    x = case.sequence().detach()
    with pytest.raises(ExportError, match=r"TemporalEffectiveBatchNorm2d .* memory 't' changes to 1"):
        to_onnx(layer, x[0], tmp_path / "tebn.onnx", "s")
    assert not (tmp_path / "tebn.onnx").exists()
