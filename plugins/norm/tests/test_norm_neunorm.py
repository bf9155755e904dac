"""NeuNorm: the multi-step fast path against the per-step formula."""

import math

import pytest
import torch

from spikelayers import functional, layer
from spikelayers.testing import assert_close, check_signature
from spikelayers_norm.neunorm import NeuNorm, neunorm_multi_step, neunorm_reference


def test_signature_matches_reference():
    check_signature(NeuNorm)
    assert layer.NeuNorm is NeuNorm


@pytest.mark.parametrize("shared", [False, True])
def test_weight_shape_and_initialisation(shared):
    torch.manual_seed(0)
    neunorm = NeuNorm(5, 6, 7, shared_across_channels=shared)
    assert neunorm.w.shape == ((1 if shared else 5), 6, 7)
    bound = 1.0 / math.sqrt(6 * 7)  # kaiming uniform, a = sqrt(5), fan_in = H * W
    assert neunorm.w.abs().max() <= bound
    assert neunorm.w.abs().max() > 0.8 * bound


@pytest.mark.parametrize("T", [1, 2, 5])
@pytest.mark.parametrize(("shape", "shared"), [((2, 3, 4, 5), False), ((3, 1, 2, 7), True), ((1, 4, 3, 3), True)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_path_matches_reference(T, shape, shared, dtype):
    torch.manual_seed(T)
    N, C, H, W = shape
    s = (torch.rand(T, N, C, H, W) < 0.4).to(dtype).requires_grad_()
    s_ref = s.detach().clone().requires_grad_()
    x0 = torch.rand(N, 1, H, W, dtype=dtype, requires_grad=True)
    x0_ref = x0.detach().clone().requires_grad_()
    w = torch.randn(1 if shared else C, H, W, dtype=dtype, requires_grad=True)
    w_ref = w.detach().clone().requires_grad_()
    y, x_last = neunorm_multi_step(s, x0, w, 0.7)
    y_ref, x_last_ref = neunorm_reference(s_ref, x0_ref, w_ref, 0.7)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert_close(y, y_ref, "output", rtol=tol, atol=tol)
    assert_close(x_last, x_last_ref, "final state", rtol=tol, atol=tol)
    gy, gx = torch.randn_like(y), torch.randn_like(x_last)
    torch.autograd.backward([y, x_last], [gy, gx])
    torch.autograd.backward([y_ref, x_last_ref], [gy, gx])
    for name, a, b in [("input", s, s_ref), ("initial state", x0, x0_ref), ("weight", w, w_ref)]:
        assert_close(a.grad, b.grad, f"gradient of {name}", rtol=tol, atol=tol)


def test_layer_follows_the_documented_formula():
    torch.manual_seed(0)
    neunorm = NeuNorm(3, 4, 5, k=0.8)
    s_seq = (torch.rand(4, 2, 3, 4, 5) < 0.5).float()
    x = torch.zeros(2, 1, 4, 5)
    for s in s_seq:
        x = 0.8 * x + 0.2 / 9 * s.sum(dim=1, keepdim=True)
        assert_close(neunorm(s), s - neunorm.w * x, "step output")
    assert_close(neunorm.x, x, "memory")
    functional.reset_net(neunorm)
    assert neunorm.x == 0.0


def test_bad_inputs_name_the_layer():
    neunorm = NeuNorm(3, 4, 5, step_mode="m")
    with pytest.raises(ValueError, match=r"NeuNorm.*\[T, N, C, H, W\]"):
        neunorm(torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"NeuNorm.*height and width"):
        neunorm(torch.zeros(2, 2, 3, 4, 6))
    with pytest.raises(ValueError, match=r"NeuNorm.*C=3"):
        neunorm(torch.zeros(2, 2, 2, 4, 5))


@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int32, torch.int64])
def test_integer_spikes_give_the_float_result_in_both_modes(dtype):
    torch.manual_seed(0)
    s_seq = torch.rand(4, 2, 3, 4, 4) < 0.5
    multi = NeuNorm(3, 4, 4, step_mode="m")
    single, reference = NeuNorm(3, 4, 4), NeuNorm(3, 4, 4, step_mode="m")
    single.load_state_dict(multi.state_dict())
    reference.load_state_dict(multi.state_dict())
    expected = reference(s_seq.float())
    y_multi = multi(s_seq.to(dtype))
    y_single = torch.stack([single(s) for s in s_seq.to(dtype)])
    assert y_multi.dtype == y_single.dtype == torch.float32
    assert_close(y_multi, expected, "multi-step, integer spikes")
    assert_close(y_single, expected, "single-step, integer spikes")
    assert_close(multi.x, reference.x, "memory after integer spikes")


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_a_call_that_raises_changes_no_state(step_mode):
    torch.manual_seed(0)
    neunorm, reference = NeuNorm(3, 4, 4, step_mode=step_mode), NeuNorm(3, 4, 4, step_mode=step_mode)
    reference.load_state_dict(neunorm.state_dict())
    s_seq = (torch.rand(2, 2, 3, 4, 4) < 0.5).float()
    steps = s_seq if step_mode == "m" else s_seq[0]
    neunorm(steps)
    reference(steps)
    before = neunorm.x.clone()
    bad = torch.zeros(*steps.shape[:-1], 5)
    with pytest.raises(ValueError, match="NeuNorm"):
        neunorm(bad)
    with pytest.raises(TypeError, match=r"NeuNorm.*real-valued"):
        neunorm(steps.to(torch.complex64))
    assert torch.equal(neunorm.x, before)
    assert_close(neunorm(steps), reference(steps), "the next valid call")


def test_a_fresh_layer_that_refuses_a_call_stays_fresh():
    neunorm = NeuNorm(3, 4, 4, step_mode="m")
    with pytest.raises(ValueError):
        neunorm(torch.zeros(2, 5, 3, 4, 5))
    assert neunorm.x == 0.0
    assert neunorm(torch.zeros(2, 7, 3, 4, 4)).shape == (2, 7, 3, 4, 4)  # another batch size is fine


def test_an_empty_sequence_gives_an_empty_output_and_keeps_the_state():
    torch.manual_seed(0)
    neunorm = NeuNorm(3, 4, 4, step_mode="m")
    assert neunorm(torch.zeros(0, 2, 3, 4, 4)).shape == (0, 2, 3, 4, 4)
    assert neunorm.x == 0.0
    s_seq = torch.rand(3, 2, 3, 4, 4)
    neunorm(s_seq)
    before = neunorm.x.clone()
    empty = neunorm(torch.zeros(0, 2, 3, 4, 4, dtype=torch.bool))
    assert empty.shape == (0, 2, 3, 4, 4) and empty.dtype == torch.float32
    assert torch.equal(neunorm.x, before)


def test_double_mid_sequence_gives_the_float64_result():
    torch.manual_seed(0)
    neunorm = NeuNorm(3, 4, 4, step_mode="m")
    s_seq = torch.rand(4, 2, 3, 4, 4, dtype=torch.float64)
    reference = NeuNorm(3, 4, 4, step_mode="m").double()
    reference.load_state_dict(neunorm.state_dict())
    neunorm(s_seq[:2].float())
    reference(s_seq[:2].float().double())
    neunorm.double()
    assert neunorm.x.dtype == torch.float64
    assert_close(neunorm(s_seq[2:]), reference(s_seq[2:]), "after .double()", rtol=1e-6, atol=1e-6)
