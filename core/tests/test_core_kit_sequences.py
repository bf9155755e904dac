"""The kit's checks of empty sequences, dtype changes, integer spikes and the neuron and
surrogate signatures pass correct layers and catch broken ones."""

import pytest
import torch
from torch import nn

from spikelayers.testing import (
    CHECKS,
    LayerCase,
    check_dtype_change,
    check_empty_sequence,
    check_integer_spikes,
    check_namespace_signatures,
    check_signature,
)
from spikelayers.testing.examples import LeakyIntegrator as Leaky


class StacksEmpty(Leaky):
    """Multi-step mode stacks the steps itself, so an empty sequence fails inside torch."""

    def multi_step_forward(self, x_seq):
        return torch.stack([self.single_step_forward(x) for x in x_seq])


class ForgetsEmpty(Leaky):
    """An empty sequence resets the membrane."""

    def multi_step_forward(self, x_seq):
        if x_seq.shape[0] == 0:
            self.reset()
            return x_seq.clone()
        return super().multi_step_forward(x_seq)


class PinsDtype(Leaky):
    """Keeps its membrane in float32 whatever the input: no promotion."""

    def single_step_forward(self, x):
        self.v = (self.memory_like("v", x) * self.decay + x).float()
        return torch.tanh(self.v)


class Truncates(Leaky):
    """Keeps integer inputs as integers: ``tanh`` of the truncated membrane."""

    def single_step_forward(self, x):
        if x.is_floating_point():
            return super().single_step_forward(x)
        self.v = (self.memory_like("v", x) * self.decay.detach()).long() + x
        return torch.tanh(self.v.float())


def case(cls):
    return LayerCase(cls, input_shape=(3, 4), T=4)


@pytest.mark.parametrize("check", [check_empty_sequence, check_dtype_change, check_integer_spikes])
def test_a_correct_layer_passes(check):
    check(case(Leaky))


def test_the_empty_sequence_and_dtype_checks_are_in_the_kit():
    assert {"empty_sequence", "dtype_change"} <= {check.name for check in CHECKS}


@pytest.mark.parametrize(
    ("check", "cls", "message"),
    [
        (check_empty_sequence, StacksEmpty, "an empty sequence"),
        (check_empty_sequence, ForgetsEmpty, "state after an empty sequence"),
        (check_dtype_change, PinsDtype, "has dtype torch.float32, expected torch.float64"),
        (check_integer_spikes, Truncates, "spikes vs the same spikes as torch.float32"),
    ],
)
def test_a_broken_layer_is_caught(check, cls, message):
    with pytest.raises(AssertionError, match=message):
        check(case(cls))


def test_a_layer_whose_fixed_T_refuses_an_empty_sequence_by_name_passes():
    class FixedT(Leaky):
        def multi_step_forward(self, x_seq):
            if x_seq.shape[0] != 4:
                raise ValueError(f"FixedT expects T=4, got shape {tuple(x_seq.shape)}")
            return super().multi_step_forward(x_seq)

    check_empty_sequence(LayerCase(FixedT, input_shape=(3, 4), T=4, chunkable=False))


class SwappedNode(nn.Module):
    def __init__(self, tau=2.0, decay_input=False, v_threshold=1.0, v_reset=None, detach_reset=True,
                 surrogate_function=None, step_mode="s", backend="torch", store_v_seq=False):  # fmt: skip
        super().__init__()


def test_the_signature_check_covers_the_neuron_namespace():
    with pytest.raises(AssertionError, match=r"parameters \[.*'detach_reset', 'surrogate_function'.*\] != reference"):
        check_signature(SwappedNode, "OTTTLIFNode", namespace="neuron")
    with pytest.raises(KeyError, match="reference neuron API"):
        check_signature(SwappedNode, "NoSuchNode", namespace="neuron")


def test_the_signature_check_compares_surrogate_defaults_by_class():
    class Sigmoid(nn.Module):
        def __init__(self, alpha=4.0, spiking=True):
            super().__init__()

    default = Sigmoid()

    class Node(nn.Module):
        def __init__(self, v_threshold=1.0, v_reset=0.0, surrogate_function=default, detach_reset=False,
                     step_mode="s", backend="torch", store_v_seq=False):  # fmt: skip
            super().__init__()

    check_signature(Sigmoid, namespace="surrogate")
    check_signature(Node, "IFNode", namespace="neuron")

    class PSN(nn.Module):
        def __init__(self, T, surrogate_function=default):
            super().__init__()

    with pytest.raises(AssertionError, match=r"surrogate_function: default Sigmoid\(\) != reference surrogate.ATan"):
        check_signature(PSN, namespace="neuron")


@pytest.mark.parametrize("namespace", ["neuron", "surrogate"])
def test_every_installed_neuron_and_surrogate_keeps_the_reference_signature(namespace):
    checked = check_namespace_signatures(namespace)
    assert all(isinstance(name, str) for name in checked)
