"""Unusual calls: empty sequences, dtype changes, step-mode mistakes, argument checks."""

import pytest
import torch
from torch import nn

from spikelayers import functional, shapes, validators
from spikelayers.base import MemoryModule, MultiStepModule
from spikelayers.containers import MultiStepContainer, SeqToANNContainer, StepModeContainer


class Integrator(MemoryModule):
    """``v <- 0.5 v + x``; output ``v``; a tensor initial ``bias`` memory too."""

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.register_memory("v", 0.0)
        self.register_memory("bias", torch.zeros(3))
        self.step_mode = step_mode

    def single_step_forward(self, x):
        self.v = self.memory_like("v", x) * 0.5 + x + self.bias
        return self.v


class Widen(nn.Module):
    """A stateless child that changes the feature size: ``[N, 3] -> [N, 5]``."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 5)

    def forward(self, x):
        return self.linear(x)


# -- memories follow .to() --------------------------------------------------------------


@pytest.mark.parametrize("convert", ["double", "half", "to"])
def test_module_conversions_convert_tensor_memories(convert):
    layer = Integrator()
    layer(torch.randn(2, 3))
    converted = {"double": layer.double, "half": layer.half, "to": lambda: layer.to(torch.float64)}[convert]()
    assert converted is layer
    expected = torch.float16 if convert == "half" else torch.float64
    assert layer.v.dtype == expected and layer.bias.dtype == expected
    layer.reset()
    assert layer.bias.dtype == expected  # the value reset restores was converted too


def test_a_double_step_after_double_conversion_gives_the_float64_result():
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    layer = Integrator()
    layer(x[0].float())
    layer.double()
    y = layer(x[1])
    assert y.dtype == torch.float64
    expected = x[0].float().double() * 0.5 + x[1]
    torch.testing.assert_close(y, expected)


def test_integer_memories_are_left_alone_by_float_conversions():
    layer = Integrator()
    layer.v = torch.ones(2, 3, dtype=torch.int64)
    layer.double()
    assert layer.v.dtype == torch.int64


# -- empty sequences ------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: MultiStepContainer(Integrator(), Widen()),
        lambda: StepModeContainer(True, Integrator(), Widen()),
        lambda: StepModeContainer(False, Widen()),
        lambda: SeqToANNContainer(Widen()),
    ],
    ids=["MultiStepContainer", "StepModeContainer-stateful", "StepModeContainer-folded", "SeqToANNContainer"],
)
def test_an_empty_sequence_gives_an_empty_output_and_keeps_the_state(build):
    net = build()
    functional.set_step_mode(net, "m")
    x = torch.randn(3, 2, 3)
    first = net(x[:2])
    memories = [(m, dict(m.named_memories())) for m in net.modules() if isinstance(m, MemoryModule)]
    empty = net(x[:0])
    assert empty.shape == (0, 2, 5) and empty.dtype == first.dtype
    for module, before in memories:
        for name, value in module.named_memories():
            assert value is before[name], f"{type(module).__name__}.{name} changed"
    whole = build()
    whole.load_state_dict(net.state_dict())
    functional.set_step_mode(whole, "m")
    torch.testing.assert_close(torch.cat((first, net(x[2:]))), whole(x))


def test_an_empty_sequence_through_the_default_multi_step_forward():
    layer = Integrator(step_mode="m")
    out = layer(torch.randn(0, 4, 3))
    assert out.shape == (0, 4, 3)
    assert layer.v == 0.0


# -- step modes ---------------------------------------------------------------------


class OnlyMulti(MultiStepModule, nn.Module):
    def forward(self, x):
        return x


def test_set_step_mode_is_atomic():
    first, last = Integrator(step_mode="m"), Integrator(step_mode="m")
    net = nn.Sequential(first, OnlyMulti(), last)
    with pytest.raises(ValueError, match=r"OnlyMulti \(at '1'\).*\('m',\), not 's'; no module was changed"):
        functional.set_step_mode(net, "s")
    assert first.step_mode == "m" and last.step_mode == "m"
    first.step_mode = last.step_mode = "s"
    with pytest.raises(ValueError, match="'x'"):
        functional.set_step_mode(nn.Sequential(first), "x")
    assert first.step_mode == "s"


@pytest.mark.parametrize(
    "build",
    [
        lambda child: MultiStepContainer(nn.Identity(), child),
        lambda child: SeqToANNContainer(nn.Identity(), child),
        lambda child: StepModeContainer(True, nn.Identity(), child),
        lambda child: StepModeContainer(False, nn.Identity(), nn.Sequential(child)),
    ],
)
def test_containers_reject_a_child_in_multi_step_mode(build):
    with pytest.raises(ValueError, match=r"Container: child 1 Integrator.*step_mode='m'.*step by step"):
        build(Integrator(step_mode="m"))
    build(Integrator(step_mode="s"))  # single-step children are fine


# -- shared validators and layouts -------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3", None])
def test_positive_int_rejects_everything_but_positive_ints(value):
    with pytest.raises(ValueError, match=r"^Layer: T must be a positive int, got "):
        validators.positive_int("Layer", "T", value)


def test_validators_accept_and_normalise():
    assert validators.positive_int("L", "n", torch.tensor(3)) == 3
    assert validators.non_negative_int("L", "d", 0) == 0
    assert validators.probability("L", "p", 1) == 1.0
    assert validators.tau("L", 2) == 2.0
    with pytest.raises(ValueError, match="0 <= p < 1"):
        validators.probability("L", "p", 1.0, include_one=False)
    with pytest.raises(ValueError, match="tau must be a finite number greater than 1"):
        validators.tau("L", float("inf"))
    with pytest.raises(ValueError, match="non-negative int"):
        validators.non_negative_int("L", "d", -1)


def test_layout_checks_rank_and_features_and_folds():
    layout = shapes.Layout((4,), "[N, C, H, W]", feature_dim=1)
    layout.check("Norm", torch.zeros(2, 3, 4, 4), False, 3)
    layout.check("Norm", torch.zeros(5, 2, 3, 4, 4), True, 3)
    with pytest.raises(ValueError, match=r"Norm expects input \[T, N, C, H, W\] with C=3 \(channels\)"):
        layout.check("Norm", torch.zeros(5, 2, 4, 4, 4), True, 3, "channels")
    with pytest.raises(ValueError, match=r"\[N, C, H, W\] \(4-D\)"):
        layout.check("Norm", torch.zeros(2, 3, 4), False, 3)
    x = torch.randn(3, 2, 4)
    assert torch.equal(shapes.unfold(shapes.fold(x), x.shape[:2]), x)


def test_floating_input_turns_spikes_into_floats():
    weight = torch.zeros(2, dtype=torch.float64)
    assert shapes.floating_input("L", torch.ones(2, dtype=torch.bool), weight).dtype == torch.float64
    assert shapes.floating_input("L", torch.ones(2, dtype=torch.int64)).dtype == torch.get_default_dtype()
    x = torch.ones(2, dtype=torch.float16)
    assert shapes.floating_input("L", x, weight) is x
    with pytest.raises(TypeError, match="L expects real-valued input"):
        shapes.floating_input("L", torch.ones(2, dtype=torch.complex64))


# -- numpy --------------------------------------------------------------------------


def test_importing_spikelayers_without_numpy_prints_no_warning(tmp_path):
    import subprocess
    import sys

    fake = tmp_path / "numpy"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'numpy\'", name="numpy")\n')
    code = "import spikelayers\nfrom spikelayers import base, containers, functional, layer\nprint('imported')"
    env = {"PYTHONPATH": str(tmp_path), "PATH": "", "PYTHONWARNINGS": "default"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"
    assert "NumPy" not in result.stderr and "Warning" not in result.stderr, result.stderr
