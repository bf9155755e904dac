"""Delay: the shift, its queue across calls, the keyword alias and the reference's example."""

from __future__ import annotations

import pytest
import torch

from spikelayers import functional
from spikelayers.errors import StateShapeError
from spikelayers.testing import assert_close, check_signature
from spikelayers_synapse.delay import Delay


def shifted(x: torch.Tensor, d: int) -> torch.Tensor:
    """``y[t] = x[t - d]``, zeros for ``t < d``, written out step by step."""
    y = torch.zeros_like(x)
    for t in range(x.shape[0]):
        if t >= d:
            y[t] = x[t - d]
    return y


def test_reference_example():
    # The reference's example; only the import differs.
    from spikelayers.layer import Delay

    delay_layer = Delay(delay=1, step_mode="m")
    x = torch.rand([5, 2])
    x[3:].zero_()
    x.requires_grad = True
    y = delay_layer(x)
    print("x=")
    print(x)
    print("y=")
    print(y)
    y.sum().backward()
    print("x.grad=")
    print(x.grad)

    assert_close(y, shifted(x.detach(), 1), "y")
    expected_grad = torch.ones(5, 2)
    expected_grad[4] = 0
    assert_close(x.grad, expected_grad, "x.grad")


@pytest.mark.parametrize("d", [0, 1, 2, 5, 9])
@pytest.mark.parametrize("T", [1, 3, 8])
def test_multi_step_shift(d, T):
    x = torch.randn(T, 2, 3)
    assert_close(Delay(d, step_mode="m")(x), shifted(x, d), f"Delay({d}) on T={T}")


@pytest.mark.parametrize("d", [1, 3, 6])
def test_single_step_queue_across_calls(d):
    layer = Delay(d)
    x = torch.randn(10, 4)
    outputs = torch.stack([layer(step) for step in x])
    assert_close(outputs, shifted(x, d), "single-step outputs")
    functional.reset_net(layer)
    assert_close(layer(x[0]), torch.zeros(4), "first output after reset")


@pytest.mark.parametrize("d", [2, 5])
def test_chunks_shorter_than_delay(d):
    x = torch.randn(12, 3)
    layer = Delay(d, step_mode="m")
    pieces = [layer(x[i : i + 1]) for i in range(0, 4)] + [layer(x[4:9]), layer(x[9:])]
    assert_close(torch.cat(pieces), shifted(x, d), "chunked outputs")


def test_gradient_is_shifted_back():
    x = torch.randn(6, 2, requires_grad=True)
    y = Delay(2, step_mode="m")(x)
    weight = torch.randn(6, 2)
    (y * weight).sum().backward()
    expected = torch.zeros(6, 2)
    expected[:4] = weight[2:]
    assert_close(x.grad, expected, "input gradient")


def test_alias_and_signature():
    check_signature(Delay, aliases={"delay": "delay_steps"})
    assert Delay(delay=3).delay_steps == 3
    assert Delay(4).delay_steps == 4
    with pytest.raises(TypeError, match="Delay"):
        Delay(1, delay=2)
    with pytest.raises(TypeError, match="Delay"):
        Delay()


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_delay_must_be_non_negative_int(bad):
    with pytest.raises(ValueError, match="Delay"):
        Delay(bad)


def test_batch_change_without_reset_raises():
    layer = Delay(2, step_mode="m")
    layer(torch.randn(3, 2, 4))
    with pytest.raises(StateShapeError, match="reset_net"):
        layer(torch.randn(3, 5, 4))


def test_multi_step_rejects_missing_time_dim():
    with pytest.raises(ValueError, match=r"Delay.*\[T, N, \*\]"):
        Delay(1, step_mode="m")(torch.randn(4))
