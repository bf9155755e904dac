"""NeuNorm's triton kernels against the per-step formula: on triton's CPU interpreter, or on
a GPU when ``SPIKELAYERS_TEST_DEVICE=cuda``."""

from __future__ import annotations

from spikelayers.testing import triton_test_device

DEVICE = triton_test_device()

import copy
import subprocess
import sys

import pytest
import torch

pytest.importorskip("triton")

from spikelayers import functional
from spikelayers.kernels import get_kernel
from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_norm.bench import BENCH_CASES
from spikelayers_norm.neunorm import NeuNorm, neunorm_reference
from spikelayers_norm.triton_kernel import _blocks

K = 0.7

SHAPES = {
    # name: (N, C, H, W, shared weight)
    "odd": (2, 3, 5, 7, False),
    "odd-shared": (2, 3, 5, 7, True),
    "two-hw-blocks": (1, 40, 9, 11, False),
    "two-hw-blocks-shared": (2, 40, 9, 11, True),
    "one-channel": (3, 1, 4, 6, False),
}


def _inputs(T, N, C, H, W, shared, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = (torch.rand(T, N, C, H, W, generator=g) < 0.4).to(DEVICE, dtype)
    x0 = torch.rand(N, 1, H, W, generator=g).to(DEVICE, dtype)
    w = torch.randn(1 if shared else C, H, W, generator=g).to(DEVICE, dtype)
    gy = torch.randn(T, N, C, H, W, generator=g).to(DEVICE, dtype)
    g_last = torch.randn(N, 1, H, W, generator=g).to(DEVICE, dtype)
    return s, x0, w, gy, g_last


def _run(fn, s, x0, w, gy, g_last):
    """Outputs ``(y, x_last)`` and gradients ``(s, x0, w)`` of ``fn`` for cotangents ``gy``, ``g_last``."""
    leaves = [t.detach().clone().requires_grad_() for t in (s, x0, w)]
    y, x_last = fn(*leaves, K)
    grads = torch.autograd.grad([y, x_last], leaves, [gy.to(y.dtype), g_last.to(x_last.dtype)])
    return (y.detach(), x_last.detach()), grads


def test_the_multi_block_shape_spans_several_blocks():
    _, C, H, W, _ = SHAPES["two-hw-blocks"]
    assert _blocks(C, H * W)[1] < H * W


@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES, ids=str)
@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
def test_triton_matches_reference(shape, T, dtype):
    kernel = get_kernel("norm.neunorm", "triton", DEVICE)
    inputs = _inputs(T, *SHAPES[shape], dtype, seed=T)
    (y, x_last), grads = _run(kernel, *inputs)
    # The reference runs in float32 on the same (rounded) inputs.
    (y_ref, x_last_ref), grads_ref = _run(neunorm_reference, *(t.float() for t in inputs))
    tol = kernel_tolerance(dtype)
    label = f"{shape} T={T} {dtype}"
    assert y.dtype == dtype and x_last.dtype == dtype
    assert x_last.shape == x_last_ref.shape
    assert_close(y, y_ref, f"{label}: output", rtol=tol, atol=tol)
    assert_close(x_last, x_last_ref, f"{label}: final memory", rtol=tol, atol=tol)
    for name, a, b in zip(("input", "initial memory", "weight"), grads, grads_ref):
        assert a.dtype == dtype
        assert_close(a, b, f"{label}: gradient of the {name}", rtol=tol, atol=tol)


def test_float16_and_expanded_memory():
    kernel = get_kernel("norm.neunorm", "triton", DEVICE)
    s, _, w, gy, g_last = _inputs(5, 2, 3, 5, 7, False, torch.float16)
    x0 = torch.full((1, 1, 1, 1), 0.3, device=DEVICE, dtype=torch.float16)

    def expanded(fn):
        return lambda s, x, w, k: fn(s, x.expand(2, 1, 5, 7), w, k)

    (y, x_last), grads = _run(expanded(kernel), s, x0, w, gy, g_last)
    (y_ref, x_last_ref), grads_ref = _run(expanded(neunorm_reference), s.float(), x0.float(), w.float(), gy, g_last)
    tol = kernel_tolerance(torch.float16)
    assert_close([y, x_last], [y_ref, x_last_ref], "float16 outputs", rtol=tol, atol=tol)
    assert grads[1].shape == (1, 1, 1, 1)
    assert_close(list(grads), list(grads_ref), "float16 gradients", rtol=tol, atol=tol)


def test_gradients_of_some_inputs_only():
    kernel = get_kernel("norm.neunorm", "triton", DEVICE)
    s, x0, w, gy, _ = _inputs(4, 2, 3, 5, 7, True, torch.float32)
    w_kernel, w_ref = w.clone().requires_grad_(), w.clone().requires_grad_()
    y, _ = kernel(s, x0, w_kernel, K)
    y_ref, _ = neunorm_reference(s, x0, w_ref, K)
    (grad,) = torch.autograd.grad(y, w_kernel, gy)
    (grad_ref,) = torch.autograd.grad(y_ref, w_ref, gy)
    assert_close(grad, grad_ref, "gradient of the weight alone", rtol=1e-4, atol=1e-4)


def test_empty_sequence_keeps_the_memory():
    kernel = get_kernel("norm.neunorm", "triton", DEVICE)
    s, x0, w, _, _ = _inputs(0, 2, 3, 5, 7, False, torch.float32)
    y, x_last = kernel(s, x0, w, K)
    assert y.shape == s.shape
    assert_close(x_last, x0, "memory after no step")


@pytest.mark.parametrize("shared", [False, True])
def test_layer_on_triton_equals_torch(shared):
    torch.manual_seed(0)
    torch_layer = NeuNorm(3, 5, 7, k=0.8, shared_across_channels=shared, step_mode="m").to(DEVICE)
    triton_layer = copy.deepcopy(torch_layer)
    functional.set_backend(triton_layer, "triton")
    assert triton_layer.backend == "triton"
    g = torch.Generator().manual_seed(1)
    sequences = [(torch.rand(4, 2, 3, 5, 7, generator=g) < 0.5).float().to(DEVICE) for _ in range(2)]
    results = []
    for layer in (torch_layer, triton_layer):
        inputs = [s.clone().requires_grad_() for s in sequences]
        # Two calls in a row: the second starts from the memory the first left.
        y = torch.cat([layer(s) for s in inputs])
        memory = layer.x
        weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(2)).to(DEVICE)
        ((y * weight).sum() + memory.sum()).backward()
        results.append([y.detach(), memory.detach(), *(s.grad for s in inputs), layer.w.grad])
        functional.reset_net(layer)
        assert layer.x == 0.0
    names = ["output", "final memory", "gradient of the first input", "gradient of the second input", "weight grad"]
    for name, a, b in zip(names, *results):
        assert_close(a, b, f"layer (shared={shared}): {name}", rtol=1e-5, atol=1e-5)


def test_single_step_mode_is_unchanged_on_triton():
    layer = NeuNorm(3, 4, 5, step_mode="s").to(DEVICE)
    layer.backend = "triton"
    s = (torch.rand(2, 3, 4, 5) < 0.5).float().to(DEVICE)
    x = 0.1 / 9 * s.sum(dim=1, keepdim=True)
    assert_close(layer(s), s - layer.w * x, "single step on triton")


def test_bad_inputs_name_the_layer():
    kernel = get_kernel("norm.neunorm", "triton", DEVICE)
    s, x0, w, _, _ = _inputs(2, 2, 3, 5, 7, False, torch.float32)
    with pytest.raises(ValueError, match=r"NeuNorm.*\[T, N, C, H, W\]"):
        kernel(s[0], x0, w, K)
    with pytest.raises(ValueError, match=r"NeuNorm.*weight"):
        kernel(s, x0, w[:2], K)
    with pytest.raises(ValueError, match=r"NeuNorm.*memory"):
        kernel(s, x0[:, :, :2], w, K)
    with pytest.raises(TypeError, match=r"NeuNorm.*float64"):
        kernel(s.double(), x0, w, K)


def test_bench_times_the_triton_backend():
    cases = [case for case in BENCH_CASES if case.name == "NeuNorm"]
    assert cases and all(case.backends == ("triton",) for case in cases)


def test_importing_the_plugin_does_not_import_triton():
    code = (
        "import sys, torch, spikelayers_norm\n"
        "from spikelayers import layer\n"
        "n = layer.NeuNorm(3, 4, 5, step_mode='m')\n"
        "n(torch.zeros(2, 1, 3, 4, 5))\n"
        "assert 'triton' not in sys.modules, 'triton was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
