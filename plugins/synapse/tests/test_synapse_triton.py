"""The triton kernels of the synapse filter on triton's CPU interpreter, against the loop."""

from __future__ import annotations

import os

_PREVIOUS_INTERPRET = os.environ.get("TRITON_INTERPRET")
os.environ["TRITON_INTERPRET"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("triton")

from spikelayers.kernels import get_kernel  # noqa: E402
from spikelayers.testing import assert_close  # noqa: E402
from spikelayers_synapse.filter import SynapseFilter  # noqa: E402
from spikelayers_synapse.reference import reference_synapse_filter  # noqa: E402


def _run(fn, x, i0, w, learnable):
    x = x.detach().clone().requires_grad_(True)
    i0 = i0.detach().clone().requires_grad_(True)
    w = w.detach().clone().requires_grad_(True)
    decay = torch.sigmoid(w) if learnable else 0.3
    y = fn(x, i0, decay)
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(3)).to(y.dtype)
    (y.float() * weight.float()).sum().backward()
    return y.detach().float(), x.grad.float(), i0.grad.float(), w.grad


@pytest.mark.parametrize("shape", [(3, 5), (1, 1100)])
@pytest.mark.parametrize("T", [1, 4])
@pytest.mark.parametrize("learnable", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_triton_matches_reference(shape, T, learnable, dtype):
    kernel = get_kernel("synapse.filter", "triton", "cpu")
    g = torch.Generator().manual_seed(0)
    x = (torch.rand((T, *shape), generator=g) < 0.4).to(dtype)
    i0 = torch.randn(shape, generator=g).to(dtype)
    w = torch.tensor(0.2)
    got = _run(kernel, x, i0, w, learnable)
    # The reference runs in float32 on the same (rounded) inputs.
    want = _run(reference_synapse_filter, x.float(), i0.float(), w, learnable)
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    for what, a, b in zip(("output", "input grad", "initial-state grad"), got[:3], want[:3]):
        assert_close(a, b, what, rtol=tol, atol=tol)
    if learnable:
        assert_close(got[3], want[3], "gradient of w", rtol=tol, atol=tol)


def test_layer_on_triton_backend():
    layer = SynapseFilter(tau=3.0, learnable=True, step_mode="m")
    layer.backend = "triton"
    x = (torch.rand(5, 2, 3) < 0.5).float()
    y = layer(x)
    expected = reference_synapse_filter(x, torch.zeros(2, 3), torch.sigmoid(layer.w.detach()))
    assert_close(y, expected, "layer on triton")
