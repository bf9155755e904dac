"""The attention layers against per-sample loops of the documented formulas, and their errors."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F

from spikelayers import functional
from spikelayers.testing import assert_close, check_signature
from spikelayers_attention.multi_dimensional import MultiDimensionalAttention
from spikelayers_attention.temporal import TemporalWiseAttention


def mlp(v: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    return w2.flatten(1) @ torch.relu(w1.flatten(1) @ v)


def twa_per_sample(layer: TemporalWiseAttention, x: torch.Tensor) -> torch.Tensor:
    """One sample at a time: pool over everything but T, shared MLP, sigmoid, scale."""
    w1, w2 = layer.sharedMLP[0].weight, layer.sharedMLP[2].weight
    outputs = []
    for n in range(x.shape[1]):
        sample = x[:, n].reshape(x.shape[0], -1)
        score = torch.sigmoid(mlp(sample.mean(1), w1, w2) + mlp(sample.max(1).values, w1, w2))
        outputs.append(x[:, n] * score.reshape(-1, *([1] * (x.dim() - 2))))
    return torch.stack(outputs, dim=1)


def mda_per_sample(layer: MultiDimensionalAttention, x: torch.Tensor) -> torch.Tensor:
    """One sample ``[T, C, H, W]`` at a time, stage by stage as documented."""
    outputs = []
    for n in range(x.shape[1]):
        out = x[:, n]
        steps, channels = out.shape[:2]
        by_t = out.reshape(steps, -1)
        st = torch.sigmoid(mlp(by_t.mean(1), *layer.ta.weights()) + mlp(by_t.max(1).values, *layer.ta.weights()))
        out = out * st[:, None, None, None]
        by_c = out.transpose(0, 1).reshape(channels, -1)
        sc = torch.sigmoid(mlp(by_c.mean(1), *layer.ca.weights()) + mlp(by_c.max(1).values, *layer.ca.weights()))
        out = out * sc[None, :, None, None]
        maps = out.reshape(steps * channels, *out.shape[2:])
        pooled = torch.stack((maps.mean(0), maps.max(0).values))[None]
        k = layer.kernel_size
        ss = torch.sigmoid(F.conv2d(pooled, layer.sa.conv.weight, padding=k // 2))[0]
        outputs.append(torch.relu(out * ss[None]))
    return torch.stack(outputs, dim=1)


def test_signatures_match_the_reference():
    check_signature(TemporalWiseAttention)
    check_signature(MultiDimensionalAttention)


@pytest.mark.parametrize(
    ("T", "reduction", "dimension", "shape"),
    [(4, 2, 4, (3, 5, 4, 3)), (6, 6, 4, (2, 1, 3, 7)), (5, 2, 2, (3, 11)), (3, 1, 2, (1, 4))],
)
def test_temporal_wise_attention_matches_the_formula(T, reduction, dimension, shape):
    torch.manual_seed(T)
    layer = TemporalWiseAttention(T, reduction, dimension).double()
    x = torch.randn(T, *shape, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    x_ref = x.detach().clone().requires_grad_(True)
    expected = twa_per_sample(layer, x_ref)
    assert_close(y, expected, "output", rtol=1e-10, atol=1e-12)
    weight = torch.randn_like(y)
    grads = torch.autograd.grad((y * weight).sum(), [x, *layer.parameters()])
    grads_ref = torch.autograd.grad((expected * weight).sum(), [x_ref, *layer.parameters()])
    assert_close(list(grads), list(grads_ref), "gradients", rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("T", "C", "rt", "rc", "k", "shape"),
    [(4, 6, 2, 3, 3, (2, 5, 4)), (3, 5, 3, 1, 7, (3, 9, 8)), (2, 3, 1, 3, 3, (1, 1, 1))],
)
def test_multi_dimensional_attention_matches_the_formula(T, C, rt, rc, k, shape):
    torch.manual_seed(C)
    layer = MultiDimensionalAttention(T, C, rt, rc, k).double()
    n, h, w = shape
    x = torch.randn(T, n, C, h, w, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    x_ref = x.detach().clone().requires_grad_(True)
    expected = mda_per_sample(layer, x_ref)
    assert_close(y, expected, "output", rtol=1e-10, atol=1e-12)
    weight = torch.randn_like(y)
    grads = torch.autograd.grad((y * weight).sum(), [x, *layer.parameters()])
    grads_ref = torch.autograd.grad((expected * weight).sum(), [x_ref, *layer.parameters()])
    assert_close(list(grads), list(grads_ref), "gradients", rtol=1e-9, atol=1e-11)


def test_state_dict_keys_follow_the_reference_layout():
    assert {k: tuple(v.shape) for k, v in TemporalWiseAttention(8, 4).state_dict().items()} == {
        "sharedMLP.0.weight": (2, 8),
        "sharedMLP.2.weight": (8, 2),
    }
    assert {k: tuple(v.shape) for k, v in MultiDimensionalAttention(4, 8, 2, 4, 7).state_dict().items()} == {
        "ta.sharedMLP.0.weight": (2, 4, 1, 1, 1),
        "ta.sharedMLP.2.weight": (4, 2, 1, 1, 1),
        "ca.sharedMLP.0.weight": (2, 8, 1, 1, 1),
        "ca.sharedMLP.2.weight": (8, 2, 1, 1, 1),
        "sa.conv.weight": (1, 2, 7, 7),
    }


@pytest.mark.parametrize("build", [lambda: TemporalWiseAttention(4, 2), lambda: MultiDimensionalAttention(4, 4, 2, 2)])
def test_single_step_is_refused(build):
    layer = build()
    assert layer.step_mode == "m"
    name = type(layer).__name__
    with pytest.raises(ValueError, match=rf"{name}: step_mode must be one of \('m',\)"):
        layer.step_mode = "s"
    with pytest.raises(ValueError, match=name):
        functional.set_step_mode(torch.nn.Sequential(layer), "s")


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: TemporalWiseAttention(4, 5), r"reduction must be at most T=4"),
        (lambda: TemporalWiseAttention(4, 0), r"reduction must be a positive int"),
        (lambda: TemporalWiseAttention(0), r"T must be a positive int"),
        (lambda: TemporalWiseAttention(4, 2, dimension=3), r"dimension must be 4 .* or 2"),
        (lambda: MultiDimensionalAttention(4, 8, reduction_t=8, reduction_c=2), r"reduction_t must be at most T=4"),
        (lambda: MultiDimensionalAttention(4, 8, reduction_t=2, reduction_c=9), r"reduction_c must be at most C=8"),
        (lambda: MultiDimensionalAttention(4, 8, 2, 2, kernel_size=5), r"kernel_size must be 3 or 7, got 5"),
        (lambda: MultiDimensionalAttention(4, 2.5, 2, 1), r"C must be a positive int"),
    ],
)
def test_bad_arguments_raise_value_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_inputs_name_the_layout():
    with pytest.raises(ValueError, match=r"TemporalWiseAttention.*\[T, N, C, H, W\].*\(4, 2, 3\)"):
        TemporalWiseAttention(4, 2)(torch.randn(4, 2, 3))
    with pytest.raises(ValueError, match=r"TemporalWiseAttention.*\[T, N, L\].*\(4, 2, 3, 5, 5\)"):
        TemporalWiseAttention(4, 2, dimension=2)(torch.randn(4, 2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"TemporalWiseAttention.*T=4.*\(3, 2, 5\)"):
        TemporalWiseAttention(4, 2, dimension=2)(torch.randn(3, 2, 5))
    with pytest.raises(ValueError, match=r"MultiDimensionalAttention.*\[T, N, C, H, W\].*\(4, 6, 5, 5\)"):
        MultiDimensionalAttention(4, 6, 2, 2)(torch.randn(4, 6, 5, 5))
    with pytest.raises(ValueError, match=r"MultiDimensionalAttention.*C=6.*\(4, 1, 5, 3, 3\)"):
        MultiDimensionalAttention(4, 6, 2, 2)(torch.randn(4, 1, 5, 3, 3))


def test_no_dependency_beyond_torch():
    assert "einops" not in sys.modules or all(
        "einops" not in getattr(m, "__file__", "") for m in (sys.modules.get("spikelayers_attention.fused"),) if m
    )
    import spikelayers_attention.fused as fused

    assert "einops" not in fused.__dict__


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(TemporalWiseAttention(3, 1), (3, 0, 2, 4, 4)), (MultiDimensionalAttention(3, 2, 1, 1), (3, 0, 2, 4, 4))],
)
def test_empty_batch(layer, shape):
    x = torch.randn(shape, requires_grad=True)
    y = layer(x)
    assert y.shape == shape
    y.sum().backward()
    assert x.grad.shape == shape
