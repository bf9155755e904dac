"""Every installed layer exports with torch.export and matches eager, or raises the named error."""

import fnmatch

import pytest
import torch

from spikelayers.explicit_state import memories
from spikelayers.testing import installed_cases
from spikelayers.testing.export import check_export, check_export_error

CASES = installed_cases()


def layer_name(case):
    """The layer a case is about: its id without the configuration suffix."""
    return case.id.split("-")[0]


# One configuration per layer: the first listed (the eval-mode one where there are both),
# or the one named here.
PREFERRED = {"Delay": "Delay-3"}  # Delay-0 keeps no queue
ONE_PER_LAYER = [
    next((case for case in CASES if case.id == PREFERRED[name]), first) if name in PREFERRED else first
    for name, first in {layer_name(case): case for case in reversed(CASES)}.items()
]

# (class name pattern, step mode) -> what the ExportError must say (also in docs/deploying.rst),
# for refusals that :func:`_number_memory_error` does not find by itself.
EXPORT_ERRORS: dict[tuple[str, str], str] = {}
# Layers exported in training mode, and why.
IN_TRAINING = {
    "GradwithTrace": "the OTTT wrappers take [spike, trace], which the neuron returns in training mode only",
    "SpikeTraceOp": "the OTTT wrappers take [spike, trace], which the neuron returns in training mode only",
}
# Layers that draw random numbers in eval mode: compared with eager fed like the program, same seed.
RANDOM = {"DropConnectLinear": "averages samples of its Gaussian approximation in eval mode"}


def _params():
    for case in ONE_PER_LAYER:
        for mode in case.modes():
            yield pytest.param(case, mode, id=f"{case.id}-{mode}")


def _number_memory_error(case, mode):
    """What the single-step export must refuse with when a memory holds a Python number that
    a step changes (a step counter such as ``t`` of TEBN and BNTT): an exported program
    carries tensors only. ``None`` when the layer has no such memory. The multi-step export
    (a whole sequence) has no explicit state and is not concerned.
    """
    if mode != "s":
        return None
    layer = case.build_in_mode("s").train(layer_name(case) in IN_TRAINING)
    before = memories(layer).copy()
    torch.manual_seed(case.seed)
    with torch.no_grad():
        layer(case.sequence()[0].detach())
    for full_name, value in memories(layer).items():
        if isinstance(value, (bool, int, float)) and value != before[full_name]:
            name = full_name.rsplit(".", 1)[-1]
            return f"memory {name!r} changes to {value!r} (of type {type(value).__name__}, not a tensor)"
    return None


def _expected_error(case, mode):
    name = layer_name(case)
    listed = (reason for (pattern, m), reason in EXPORT_ERRORS.items() if m == mode and fnmatch.fnmatch(name, pattern))
    return next(listed, None) or _number_memory_error(case, mode)


def test_step_counters_are_found_as_number_memories():
    """The generic expectation sees the layers known to keep a Python step counter."""
    by_name = {layer_name(case): case for case in ONE_PER_LAYER}
    counters = [name for name in by_name if name.startswith(("TemporalEffectiveBatchNorm", "BatchNormThroughTime"))]
    assert counters
    for name in counters:
        assert "memory 't' changes to" in _number_memory_error(by_name[name], "s"), name
        assert _number_memory_error(by_name[name], "m") is None
    assert _number_memory_error(by_name["LIFNode"], "s") is None


@pytest.mark.parametrize(("case", "mode"), list(_params()))
def test_exported_layer_matches_eager_in_chunks_or_raises_the_named_error(case, mode):
    name = layer_name(case)
    reason = _expected_error(case, mode)
    if reason is not None:
        check_export_error(case, mode, reason)
    else:
        check_export(case, mode, train=name in IN_TRAINING, random=name in RANDOM)


def test_every_family_has_an_exported_case():
    exported = {
        type(case.build()).__module__.split(".")[0]
        for case in ONE_PER_LAYER
        for mode in case.modes()
        if _expected_error(case, mode) is None
    }
    expected = {
        f"spikelayers_{family}"
        for family in ("stateless", "norm", "ws", "dropout", "synapse", "recurrent", "attention", "neuron", "ottt")
    }
    assert expected <= exported


def test_layers_on_the_triton_backend_export_through_their_pytorch_path():
    from spikelayers import functional, layer, neuron
    from spikelayers.export import export
    from spikelayers.testing import assert_close

    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.Linear(4, 5), neuron.LIFNode(tau=2.0), layer.SynapseFilter(tau=3.0)).eval()
    functional.set_step_mode(net, "m")
    functional.set_backend(net, "triton")
    x = torch.randn(6, 2, 4)
    program = export(net, x, "m")
    assert {m.backend for m in net.modules() if hasattr(m, "backend")} == {"triton"}  # the network is untouched
    functional.set_backend(net, "torch")
    with torch.no_grad():
        assert_close(program.module()(x), net(x), "exported from the triton backend vs eager torch")
