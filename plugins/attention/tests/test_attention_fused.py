"""The fast path (pooled scores, sample blocks, recompute in backward) against the direct transcription."""

from __future__ import annotations

import pytest
import torch

from spikelayers.testing import assert_close
from spikelayers_attention import reference
from spikelayers_attention.fused import (
    multi_dimensional_attention_blocks,
    multi_dimensional_attention_pooled,
    temporal_wise_attention_fast,
)


def mda_weights(T: int, C: int, hidden_t: int, hidden_c: int, k: int, dtype: torch.dtype) -> list[torch.Tensor]:
    shapes = [(hidden_t, T, 1, 1, 1), (T, hidden_t, 1, 1, 1), (hidden_c, C, 1, 1, 1), (C, hidden_c, 1, 1, 1)]
    weights = [torch.randn(s, dtype=dtype) for s in shapes] + [torch.randn(1, 2, k, k, dtype=dtype) * 0.5]
    return [w.requires_grad_(True) for w in weights]


def gaussian(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(shape, dtype=dtype)


def spikes(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    return (torch.rand(shape) < 0.3).to(dtype)


def compare(fast, direct, x: torch.Tensor, params: list[torch.Tensor], rtol: float, atol: float) -> None:
    x_fast = x.detach().clone().requires_grad_(True)
    x_direct = x.detach().clone().requires_grad_(True)
    y_fast = fast(x_fast, *params)
    y_direct = direct(x_direct, *params)
    assert_close(y_fast, y_direct, "output", rtol=rtol, atol=atol)
    weight = torch.randn_like(y_direct)
    g_fast = torch.autograd.grad((y_fast * weight).sum(), [x_fast, *params])
    g_direct = torch.autograd.grad((y_direct * weight).sum(), [x_direct, *params])
    assert_close(list(g_fast), list(g_direct), "gradients (input, then every weight)", rtol=rtol, atol=atol)


TOLERANCES = {torch.float64: (1e-10, 1e-12), torch.float32: (1e-4, 1e-5)}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("block_elements", [1, 300, 1 << 19])
@pytest.mark.parametrize("make", [gaussian, spikes], ids=["gaussian", "spikes"])
@pytest.mark.parametrize(
    ("T", "N", "C", "H", "W", "ht", "hc", "k"),
    [(4, 3, 6, 5, 4, 2, 3, 3), (3, 5, 5, 7, 3, 1, 1, 7), (2, 1, 3, 1, 2, 2, 1, 3)],
)
def test_multi_dimensional_fast_path_matches_direct(T, N, C, H, W, ht, hc, k, make, block_elements, dtype):
    torch.manual_seed(T * 100 + C)
    params = mda_weights(T, C, ht, hc, k, dtype)
    x = make((T, N, C, H, W), dtype)

    def fast(v, *p):
        return multi_dimensional_attention_blocks(v, *p, block_elements=block_elements)

    compare(fast, reference.multi_dimensional_attention, x, params, *TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("block_elements", [1, 100, 1 << 19])
@pytest.mark.parametrize("make", [gaussian, spikes], ids=["gaussian", "spikes"])
@pytest.mark.parametrize("shape", [(5, 3, 4, 3, 2), (3, 4, 7), (4, 1, 2, 1, 1)])
def test_temporal_wise_fast_path_matches_direct(shape, make, block_elements, dtype):
    torch.manual_seed(len(shape) + shape[0])
    T = shape[0]
    hidden = max(T // 2, 1)
    params = [
        torch.randn(hidden, T, dtype=dtype, requires_grad=True),
        torch.randn(T, hidden, dtype=dtype, requires_grad=True),
    ]
    x = make(shape, dtype)

    def fast(v, *p):
        return temporal_wise_attention_fast(v, *p, block_elements=block_elements)

    compare(fast, reference.temporal_wise_attention, x, params, *TOLERANCES[dtype])


def test_multi_dimensional_gradients_of_weights_only_and_of_input_only():
    torch.manual_seed(0)
    params = mda_weights(3, 4, 1, 2, 3, torch.float64)
    x = torch.randn(3, 4, 4, 3, 3, dtype=torch.float64)
    y = multi_dimensional_attention_blocks(x, *params, block_elements=50)
    grads = torch.autograd.grad(y.sum(), params)
    expected = torch.autograd.grad(reference.multi_dimensional_attention(x, *params).sum(), params)
    assert_close(list(grads), list(expected), "weight gradients with a constant input")
    frozen = [p.detach() for p in params]
    x.requires_grad_(True)
    (gx,) = torch.autograd.grad(multi_dimensional_attention_blocks(x, *frozen, block_elements=50).sum(), [x])
    (gx_ref,) = torch.autograd.grad(reference.multi_dimensional_attention(x, *frozen).sum(), [x])
    assert_close(gx, gx_ref, "input gradient with frozen weights")


def test_multi_dimensional_without_grad_returns_the_same_values():
    torch.manual_seed(1)
    params = mda_weights(2, 3, 1, 1, 3, torch.float32)
    x = torch.randn(2, 5, 3, 4, 4)
    with torch.no_grad():
        y = multi_dimensional_attention_blocks(x, *params, block_elements=40)
    assert not y.requires_grad
    assert_close(y, reference.multi_dimensional_attention(x, *params), "no-grad output", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [gaussian, spikes], ids=["gaussian", "spikes"])
def test_multi_dimensional_pooled_formula_under_autograd_matches_direct(make):
    torch.manual_seed(2)
    params = mda_weights(3, 5, 1, 2, 3, torch.float64)
    x = make((3, 4, 5, 4, 3), torch.float64)
    compare(multi_dimensional_attention_pooled, reference.multi_dimensional_attention, x, params, 1e-10, 1e-12)


def test_temporal_wise_gradients_of_weights_only_and_without_grad():
    torch.manual_seed(3)
    w = [
        torch.randn(2, 4, dtype=torch.float64, requires_grad=True),
        torch.randn(4, 2, dtype=torch.float64, requires_grad=True),
    ]
    x = torch.randn(4, 3, 5, dtype=torch.float64)
    grads = torch.autograd.grad(temporal_wise_attention_fast(x, *w, block_elements=20).sum(), w)
    expected = torch.autograd.grad(reference.temporal_wise_attention(x, *w).sum(), w)
    assert_close(list(grads), list(expected), "weight gradients with a constant input")
    with torch.no_grad():
        y = temporal_wise_attention_fast(x, *w, block_elements=20)
    assert not y.requires_grad
    assert_close(y, reference.temporal_wise_attention(x, *w), "no-grad output")
