"""The conformance kit passes a correct layer and catches deliberately broken ones."""

import os

import pytest
import torch
from torch import nn

from spikelayers.base import MemoryModule
from spikelayers.shapes import check_dim
from spikelayers.testing import (
    InputVariant,
    LayerCase,
    assert_close,
    check_autocast,
    check_bad_input_rank,
    check_chunked_sequence,
    check_copy_and_pickle_mid_sequence,
    check_input_variant,
    check_layer,
    check_multi_step_matches_single_step,
    check_reset_restores_initial_state,
    check_signature,
    check_state_dict_round_trip,
    check_step_mode_validation,
    make_input,
)
from spikelayers.testing.examples import LeakyIntegrator as Leaky


class MultiStepDiffers(Leaky):
    """Multi-step mode forgets the decay: 'm' differs from a loop of 's'."""

    def multi_step_forward(self, x_seq):
        check_dim(self, x_seq, 3, "[T, N, C]")
        self.v = x_seq.cumsum(0)[-1]
        return torch.tanh(x_seq.cumsum(0))


class ResetLeaks(Leaky):
    """reset() forgets to clear the membrane."""

    def reset(self):
        pass


class HiddenState(Leaky):
    """Keeps state in a plain attribute that reset() cannot see."""

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.hidden = None

    def single_step_forward(self, x):
        self.hidden = x if self.hidden is None else self.hidden + x
        return super().single_step_forward(x) + self.hidden


class StateInStateDict(Leaky):
    """Stores its state as a buffer, so state_dict changes after a forward."""

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.register_buffer("trace", None)

    def single_step_forward(self, x):
        self.trace = x.detach() if self.trace is None else self.trace + x.detach()
        return super().single_step_forward(x)


class AcceptsAnyRank(Leaky):
    """Never checks its input."""

    def single_step_forward(self, x):
        self.v = self.memory_like("v", x) * self.decay + x
        return torch.tanh(self.v)

    def multi_step_forward(self, x_seq):
        return MemoryModule.multi_step_forward(self, x_seq)


class ChunkBreaks(Leaky):
    """Restarts from zero on every multi-step call."""

    def multi_step_forward(self, x_seq):
        self.reset()
        return super().multi_step_forward(x_seq)


class AcceptsAnyMode(Leaky):
    @property
    def step_mode(self):
        return self.__dict__.get("_step_mode", "s")

    @step_mode.setter
    def step_mode(self, value):
        self.__dict__["_step_mode"] = value


class LosesStateOnCopy(Leaky):
    def __getstate__(self):
        state = super().__getstate__()
        state["_memories"] = {name: 0.0 for name in state["_memories"]}
        return state


def case(cls):
    return LayerCase(cls, input_shape=(3, 4), T=6)


def test_kit_passes_a_correct_layer():
    ran = check_layer(case(Leaky))
    assert "multi_step_matches_single_step" in ran and "reset_restores_initial_state" in ran


@pytest.mark.parametrize(
    ("broken", "check", "message"),
    [
        (MultiStepDiffers, check_multi_step_matches_single_step, "'m' output vs loop of 's'"),
        (ResetLeaks, check_reset_restores_initial_state, "state after reset"),
        (HiddenState, check_reset_restores_initial_state, "output after reset"),
        (StateInStateDict, check_state_dict_round_trip, "state_dict keys changed"),
        (AcceptsAnyRank, check_bad_input_rank, "was accepted"),
        (ChunkBreaks, check_chunked_sequence, "two chunks vs one call"),
        (AcceptsAnyMode, check_step_mode_validation, "was accepted"),
        (LosesStateOnCopy, check_copy_and_pickle_mid_sequence, "taken mid-sequence"),
    ],
)
def test_kit_catches_broken_layers(broken, check, message):
    with pytest.raises(AssertionError, match=message):
        check(case(broken))


def test_check_layer_fails_on_a_broken_layer():
    with pytest.raises(AssertionError):
        check_layer(case(MultiStepDiffers))


def test_assert_close_reports_relative_error():
    with pytest.raises(AssertionError, match=r"out: values differ.*relative error"):
        assert_close(torch.ones(3), torch.ones(3) * 1.1, "out")
    with pytest.raises(AssertionError, match="shape"):
        assert_close(torch.ones(3), torch.ones(4), "out")
    assert_close([torch.ones(2), 1.0], [torch.ones(2), 1.0], "pair")


def test_check_signature_accepts_reference_and_rejects_changes():
    class Linear(nn.Linear):
        def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode="s"):
            super().__init__(in_features, out_features, bias)

    check_signature(Linear)

    class WrongDefault(nn.Linear):
        def __init__(self, in_features: int, out_features: int, bias: bool = False, step_mode="s"):
            super().__init__(in_features, out_features, bias)

    with pytest.raises(AssertionError, match="bias: default False != reference True"):
        check_signature(WrongDefault, "Linear")

    class Delay(nn.Module):
        def __init__(self, delay_steps: int | None = None, step_mode="s", *, delay: int | None = None):
            super().__init__()

    check_signature(Delay, aliases={"delay": "delay_steps"})
    with pytest.raises(AssertionError, match="not a declared alias"):
        check_signature(Delay)


class ViewsItsInput(Leaky):
    """Uses .view on its input, which fails inside torch for non-contiguous tensors."""

    def multi_step_forward(self, x_seq):
        flat = x_seq.view(x_seq.shape[0] * x_seq.shape[1], -1)
        return super().multi_step_forward(flat.view_as(x_seq))


class KeepsDoubleState(Leaky):
    def single_step_forward(self, x):
        out = super().single_step_forward(x)
        self.v = self.v.double()
        return out


def test_input_variants_pass_on_a_correct_layer():
    for variant in (
        InputVariant(),
        InputVariant(T=1, batch=0),
        InputVariant(layout="strided"),
        InputVariant(special="nan"),
        InputVariant(special="inf", T=5, batch=1),
    ):
        check_input_variant(case(Leaky), variant)


def test_input_variant_catches_an_error_from_inside_torch():
    with pytest.raises(AssertionError, match="does not name the layer"):
        check_input_variant(case(ViewsItsInput), InputVariant(layout="strided"))


def test_strided_input_is_really_non_contiguous():
    x = make_input(case(Leaky), InputVariant(layout="strided"))
    assert not x.is_contiguous() and x.shape == (3, 2, 4)


def test_autocast_check_passes_and_catches_a_float64_memory():
    check_autocast(case(Leaky))
    with pytest.raises(AssertionError, match=r"dtype torch\.float64"):
        check_autocast(case(KeepsDoubleState))


def test_kernel_tolerance_covers_the_test_dtypes_and_rejects_others():
    from spikelayers.testing import KERNEL_TEST_DTYPES, kernel_tolerance

    assert kernel_tolerance(torch.float32) < kernel_tolerance(torch.bfloat16)
    assert all(kernel_tolerance(dtype) > 0 for dtype in KERNEL_TEST_DTYPES)
    with pytest.raises(ValueError, match=r"kernel_tolerance.*int32"):
        kernel_tolerance(torch.int32)


def test_triton_test_device_switches_the_interpreter_on_for_cpu(monkeypatch):
    from spikelayers.testing import triton_test_device

    monkeypatch.delenv("SPIKELAYERS_TEST_DEVICE", raising=False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert triton_test_device() == "cpu"
    assert os.environ["TRITON_INTERPRET"] == "1"
    monkeypatch.setenv("SPIKELAYERS_TEST_DEVICE", "cuda")
    monkeypatch.delenv("TRITON_INTERPRET")
    assert triton_test_device() == "cuda"
    assert "TRITON_INTERPRET" not in os.environ
    monkeypatch.setenv("SPIKELAYERS_TEST_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"SPIKELAYERS_TEST_DEVICE.*'tpu'"):
        triton_test_device()
