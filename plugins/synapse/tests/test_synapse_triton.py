"""The triton kernels of the synapse filter against the loop: on triton's CPU interpreter,
or on a GPU when ``SPIKELAYERS_TEST_DEVICE=cuda``."""

from __future__ import annotations

import os

DEVICE = os.environ.get("SPIKELAYERS_TEST_DEVICE", "cpu")
_PREVIOUS_INTERPRET = os.environ.get("TRITON_INTERPRET")
if DEVICE == "cpu":
    os.environ["TRITON_INTERPRET"] = "1"

import pytest
import torch

pytest.importorskip("triton")

from spikelayers.kernels import get_kernel
from spikelayers.testing import assert_close
from spikelayers_synapse.filter import SynapseFilter
from spikelayers_synapse.reference import reference_synapse_filter


def _run(fn, x, i0, w, learnable):
    x = x.detach().clone().requires_grad_(True)
    i0 = i0.detach().clone().requires_grad_(True)
    w = w.detach().clone().requires_grad_(True)
    decay = torch.sigmoid(w) if learnable else 0.3
    y = fn(x, i0, decay)
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(3)).to(y.device, y.dtype)
    (y.float() * weight.float()).sum().backward()
    return y.detach().float(), x.grad.float(), i0.grad.float(), w.grad


@pytest.mark.parametrize("shape", [(3, 5), (1, 1100)])
@pytest.mark.parametrize("T", [1, 4])
@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_triton_matches_reference(shape, T, learnable, dtype):
    kernel = get_kernel("synapse.filter", "triton", DEVICE)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand((T, *shape), generator=g) < 0.4).to(DEVICE, dtype)
    i0 = torch.randn(shape, generator=g).to(DEVICE, dtype)
    w = torch.tensor(0.2, device=DEVICE)
    got = _run(kernel, x, i0, w, learnable)
    # The reference runs in float32 on the same (rounded) inputs.
    want = _run(reference_synapse_filter, x.float(), i0.float(), w, learnable)
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    for what, a, b in zip(("output", "input grad", "initial-state grad"), got[:3], want[:3]):
        assert_close(a, b, what, rtol=tol, atol=tol)
    if learnable:
        assert_close(got[3], want[3], "gradient of w", rtol=tol, atol=tol)


def test_layer_on_triton_backend():
    layer = SynapseFilter(tau=3.0, learnable=True, step_mode="m").to(DEVICE)
    layer.backend = "triton"
    x = (torch.rand(5, 2, 3) < 0.5).float().to(DEVICE)
    y = layer(x)
    expected = reference_synapse_filter(x, torch.zeros(2, 3, device=DEVICE), torch.sigmoid(layer.w.detach()))
    assert_close(y, expected, "layer on triton")
