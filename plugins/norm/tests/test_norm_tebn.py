"""TEBN: the plain and fused paths against BatchNorm-then-scale, the step counter, the errors."""

import copy

import pytest
import torch
from torch import nn

from spikelayers import functional, layer
from spikelayers.testing import assert_close, check_signature
from spikelayers_norm import tebn_fused
from spikelayers_norm.tebn import (
    TemporalEffectiveBatchNorm1d,
    TemporalEffectiveBatchNorm2d,
    TemporalEffectiveBatchNorm3d,
    TemporalEffectiveBatchNormNd,
)
from spikelayers_norm.tebn_fused import batch_stats, tebn_reference

CLASSES = [
    TemporalEffectiveBatchNormNd,
    TemporalEffectiveBatchNorm1d,
    TemporalEffectiveBatchNorm2d,
    TemporalEffectiveBatchNorm3d,
]
STEP_SHAPES = {
    TemporalEffectiveBatchNormNd: (3, 4, 5),
    TemporalEffectiveBatchNorm1d: (5, 4),
    TemporalEffectiveBatchNorm2d: (3, 4, 5, 7),
    TemporalEffectiveBatchNorm3d: (2, 4, 3, 2, 5),
}


@pytest.mark.parametrize("cls", CLASSES)
def test_signature_matches_reference(cls):
    check_signature(cls)


def test_registry_and_layout():
    tebn = layer.TemporalEffectiveBatchNorm2d(4, 3)
    assert isinstance(tebn, TemporalEffectiveBatchNorm2d)
    assert isinstance(tebn.bn, nn.BatchNorm2d)
    assert tebn.scale.shape == (4,) and tebn.k is tebn.scale
    assert_close(tebn.scale, torch.ones(4), "initial scale")


@pytest.fixture(params=["plain", "fused"])
def path(request, monkeypatch):
    """Run the test on the plain path (small inputs) and on the fused path (large inputs)."""
    monkeypatch.setattr(tebn_fused, "FUSED_MIN_NUMEL", 1 << 62 if request.param == "plain" else 0)
    return request.param


def _randomise(tebn):
    with torch.no_grad():
        tebn.scale.uniform_(0.5, 1.5)
        if tebn.bn.weight is not None:
            tebn.bn.weight.uniform_(0.5, 1.5)
            tebn.bn.bias.normal_()
        if tebn.bn.running_mean is not None:
            tebn.bn.running_mean.normal_()
            tebn.bn.running_var.uniform_(0.5, 2.0)
    return tebn


def _compare_with_reference(tebn, x, rtol, atol):
    tebn.zero_grad(set_to_none=True)
    reference = copy.deepcopy(tebn)
    x_fast = x.clone().requires_grad_()
    x_ref = x.clone().requires_grad_()
    y = tebn(x_fast)
    expected = tebn_reference(reference.bn, reference.scale, x_ref)
    assert y.shape == x.shape
    assert_close(y, expected, "output", rtol=rtol, atol=atol)
    grad = torch.randn_like(y)
    y.backward(grad)
    expected.backward(grad)
    assert_close(x_fast.grad, x_ref.grad, "input gradient", rtol=rtol, atol=atol)
    for (name, p), p_ref in zip(tebn.named_parameters(), reference.parameters()):
        assert_close(p.grad, p_ref.grad, f"gradient of {name}", rtol=rtol, atol=atol)
    for (name, b), b_ref in zip(tebn.named_buffers(), reference.buffers()):
        assert_close(b, b_ref, f"buffer {name}", rtol=rtol, atol=atol)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("T", [1, 3, 6])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("train", [True, False])
def test_fused_matches_batch_norm_then_scale(cls, T, dtype, train, path):
    torch.manual_seed(T)
    tebn = _randomise(cls(T, 4, step_mode="m")).to(dtype).train(train)
    x = torch.randn(T, *STEP_SHAPES[cls], dtype=dtype) * 3 + 2
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    _compare_with_reference(tebn, x, tol, tol)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"affine": False},
        {"track_running_stats": False},
        {"momentum": None},
        {"eps": 1e-2, "momentum": 0.3},
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_fused_matches_reference_for_every_option(kwargs, train, path):
    torch.manual_seed(1)
    tebn = _randomise(TemporalEffectiveBatchNorm2d(3, 4, step_mode="m", **kwargs)).double().train(train)
    for _ in range(2):
        x = torch.randn(3, 2, 4, 3, 5, dtype=torch.double) + 1
        _compare_with_reference(tebn, x, 1e-10, 1e-10)


def test_batch_stats_survive_a_large_mean():
    x = torch.randn(2, 8, 3, 16, 16, dtype=torch.float32) * 0.01 + 1000.0
    mean, var = batch_stats(x)
    dims = (0, 1, 3, 4)
    assert_close(mean, x.double().mean(dims).float(), "mean", rtol=1e-6, atol=1e-4)
    assert_close(var, x.double().var(dims, unbiased=False).float(), "variance", rtol=1e-3, atol=1e-8)


def test_single_step_counts_steps_since_reset(path):
    torch.manual_seed(0)
    tebn = _randomise(TemporalEffectiveBatchNorm2d(3, 4)).eval()
    x = torch.randn(3, 2, 4, 3, 3)
    outputs = [tebn(step) for step in x]
    assert tebn.t == 3
    plain = nn.BatchNorm2d(4).eval()
    plain.load_state_dict(tebn.bn.state_dict())
    for t, (y, step) in enumerate(zip(outputs, x)):
        assert_close(y, tebn.scale[t] * plain(step), f"step {t}")
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm2d.*past T=3.*reset_net"):
        tebn(x[0])
    functional.reset_net(tebn)
    assert tebn.t == 0
    assert_close(tebn(x[0]), outputs[0], "after reset")


def test_multi_step_needs_exactly_T_steps():
    tebn = TemporalEffectiveBatchNorm2d(4, 3, step_mode="m")
    assert tebn.step_mode == "m"
    assert tebn.bn.step_mode == "s"
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm2d.*T=4"):
        tebn(torch.randn(3, 2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"TemporalEffectiveBatchNorm2d.*\[T, N, C, H, W\]"):
        tebn(torch.randn(2, 3, 4, 4))
    functional.set_step_mode(tebn, "s")
    assert tebn.step_mode == "s" and tebn.bn.step_mode == "s"


@pytest.mark.parametrize("shape", [(4, 2, 3), (4, 2, 3, 5)])
def test_1d_keeps_the_input_shape(shape, path):
    tebn = TemporalEffectiveBatchNorm1d(4, 3, step_mode="m")
    x = torch.randn(shape)
    y = tebn(x)
    assert y.shape == x.shape
    assert_close(y, tebn_reference(copy.deepcopy(tebn).bn, tebn.scale, x), "1d output", atol=1e-5)


@pytest.mark.parametrize("numel", [1, 4096])
def test_default_path_follows_the_threshold(monkeypatch, numel):
    calls = []
    monkeypatch.setattr(tebn_fused, "tebn_plain", lambda *args: calls.append("plain") or tebn_reference(*args))
    monkeypatch.setattr(tebn_fused, "tebn_fused", lambda *args: calls.append("fused") or tebn_reference(*args))
    monkeypatch.setattr(tebn_fused, "FUSED_MIN_NUMEL", numel)
    tebn = TemporalEffectiveBatchNorm2d(2, 4, step_mode="m")
    tebn(torch.randn(2, 2, 4, 8, 8))
    assert calls == ["fused" if numel == 1 else "plain"]


@pytest.mark.parametrize("shape", [(1, 1, 4, 1, 1), (2, 0, 4, 3, 3)])
def test_training_needs_more_than_one_value_per_channel(shape, path):
    tebn = TemporalEffectiveBatchNorm2d(shape[0], 4, step_mode="m")
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        tebn(torch.randn(shape))


def test_rejects_non_positive_T():
    with pytest.raises(ValueError, match="TemporalEffectiveBatchNorm2d"):
        TemporalEffectiveBatchNorm2d(0, 3)


@pytest.mark.parametrize("T", [2.5, 0, True, "4"])
def test_T_must_be_a_positive_int(T):
    with pytest.raises(ValueError, match=rf"TemporalEffectiveBatchNorm2d: T must be a positive int, got {T!r}"):
        TemporalEffectiveBatchNorm2d(T, 3)
