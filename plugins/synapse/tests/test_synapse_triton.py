"""The triton kernels of the synapse filter against the loop over the kernel-test grid
(``T``, float32 and bfloat16, odd shapes): on triton's CPU interpreter, or on a GPU when
``SPIKELAYERS_TEST_DEVICE=cuda``."""

from __future__ import annotations

from spikelayers.testing import triton_test_device

DEVICE = triton_test_device()

import pytest
import torch

pytest.importorskip("triton")

from spikelayers.kernels import get_kernel
from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_synapse.filter import SynapseFilter
from spikelayers_synapse.reference import reference_synapse_filter
from spikelayers_synapse.triton_kernel import BLOCK

# Odd shapes with size-1 dims; the last one's 1101 positions span two kernel blocks.
SHAPES = [(1,), (1, 7, 1), (3, 5, 3), (3, 1, 367)]


def _run(fn, x, i0, w, learnable, seed):
    x = x.detach().clone().requires_grad_(True)
    i0 = i0.detach().clone().requires_grad_(True)
    w = w.detach().clone().requires_grad_(True)
    decay = torch.sigmoid(w) if learnable else 0.3
    y = fn(x, i0, decay)
    # Weights exact in bfloat16, so that both runs get the same upstream gradient.
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(1000 + seed)).bfloat16()
    (y.float() * weight.to(y.device, torch.float32)).sum().backward()
    return y.detach(), x.grad, i0.grad, w.grad


@pytest.mark.parametrize("learnable", [False, True], ids=["fixed", "learnable"])
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("T", KERNEL_TEST_STEPS, ids=lambda t: f"T{t}")
def test_triton_matches_reference(T, dtype, learnable):
    kernel = get_kernel("synapse.filter", "triton", DEVICE)
    tol = kernel_tolerance(dtype)
    for seed, shape in enumerate(SHAPES):
        label = f"T={T} {dtype} {shape} {'learnable' if learnable else 'fixed'} decay"
        g = torch.Generator().manual_seed(seed)
        x = (torch.rand((T, *shape), generator=g) < 0.4).to(DEVICE, dtype)
        i0 = torch.randn(shape, generator=g).to(DEVICE, dtype)
        w = torch.tensor(0.2, device=DEVICE)
        got = _run(kernel, x, i0, w, learnable, seed)
        # The reference runs in float32 on the same (rounded) inputs.
        want = _run(reference_synapse_filter, x.float(), i0.float(), w, learnable, seed)
        assert [t.dtype for t in got[:3]] == [dtype] * 3, f"{label}: dtypes {[t.dtype for t in got[:3]]}"
        assert got[0].shape == x.shape, f"{label}: output of shape {tuple(got[0].shape)}"
        assert_close(got[0].float(), want[0], f"{label}: output", rtol=tol, atol=tol)
        assert_close(got[0][-1].float(), want[0][-1], f"{label}: final state", rtol=tol, atol=tol)
        assert_close(got[1].float(), want[1], f"{label}: gradient of the input", rtol=tol, atol=tol)
        assert_close(got[2].float(), want[2], f"{label}: gradient of the initial state", rtol=tol, atol=tol)
        if learnable:
            assert want[3] is not None and want[3] != 0, f"{label}: reference decay gradient {want[3]}"
            assert_close(got[3], want[3], f"{label}: gradient of the decay parameter", rtol=tol, atol=tol)
        else:
            assert got[3] is None and want[3] is None


def test_the_shapes_span_more_than_one_block():
    assert max(torch.Size(shape).numel() for shape in SHAPES) > max(BLOCK, 1024)


def test_layer_on_triton_backend():
    layer = SynapseFilter(tau=3.0, learnable=True, step_mode="m").to(DEVICE)
    layer.backend = "triton"
    x = (torch.rand(5, 2, 3) < 0.5).float().to(DEVICE)
    y = layer(x)
    expected = reference_synapse_filter(x, torch.zeros(2, 3, device=DEVICE), torch.sigmoid(layer.w.detach()))
    assert_close(y, expected, "layer on triton")
