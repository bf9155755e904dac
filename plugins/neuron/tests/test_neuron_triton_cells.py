"""The QIF/EIF/KLIF/Izhikevich Triton kernels against the readable reference over the kernel-test grid
(``T``, float32 and bfloat16): on triton's CPU interpreter, or on a GPU when
``SPIKELAYERS_TEST_DEVICE=cuda``."""

from spikelayers.testing import triton_test_device

DEVICE = triton_test_device()

import pytest
import torch

pytest.importorskip("triton")

from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron.cells import CellConfig, IzhikevichConfig
from spikelayers_neuron.lif_variants import KLIFNode
from spikelayers_neuron.nonlinear import EIFNode, IzhikevichNode, QIFNode
from spikelayers_neuron.reference import reference_cell_multi_step, reference_izhikevich_multi_step
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid
from spikelayers_neuron.triton_cells import TritonCellFunction, TritonIzhikevichFunction, cell_multi_step_triton

PARAMS = {
    "qif": (2.0, 0.8, 1.0, 0.0),
    "eif": (3.0, 0.7, 0.8, 0.0),
    "klif": (2.0, 1.0, 0.0),
    "klif-nd": (3.0, 0.0, -0.1),
}
# (cell, v_reset, detach_reset, surrogate, store_v_seq)
CONFIGS = [
    ("qif", -0.1, False, Sigmoid(), False),
    ("qif", None, True, ATan(3.0), True),
    ("eif", -0.1, False, PiecewiseQuadratic(0.8), True),
    ("eif", None, False, Sigmoid(), False),
    ("klif", 0.0, False, ATan(2.0), False),
    ("klif-nd", None, True, Sigmoid(), True),
]
SHAPE = (2, 1, 150)  # 300 neurons: two kernel blocks, the last one ragged


def _run(fn, x, v0, k, config, seed):
    x = x.detach().clone().requires_grad_()
    v0 = v0.detach().clone().requires_grad_()
    k = None if k is None else k.detach().clone().requires_grad_()
    spikes, v = fn(x, v0, k, config)
    if v.dim() == x.dim() and not config.store_v_seq:
        v = v[-1]
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(out.shape, generator=g).bfloat16().float().to(out.device) for out in (spikes, v)]
    (sum((out.float() * w).sum() for out, w in zip((spikes, v), weights))).backward()
    return [spikes, v], [x.grad, v0.grad] + ([k.grad] if k is not None else [])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}-{'soft' if c[1] is None else 'hard'}-{c[2]}")
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_triton_cell_matches_reference(config, dtype):
    cell, v_reset, detach, surrogate, store = config
    tol = kernel_tolerance(dtype)
    fired = 0
    for seed, T in enumerate(KERNEL_TEST_STEPS):
        cfg = CellConfig(cell.split("-")[0], PARAMS[cell], 1.0, v_reset, detach, surrogate, store)
        k = torch.tensor(1.3, device=DEVICE) if cell.startswith("klif") else None
        g = torch.Generator().manual_seed(seed)
        x = (torch.randn((T, *SHAPE), generator=g) * 0.6 + 0.5).to(DEVICE, dtype)
        v0 = (torch.rand(SHAPE, generator=g) * 0.5).to(DEVICE, dtype)
        out, grads = _run(TritonCellFunction.apply, x, v0, k, cfg, seed)
        ref_out, ref_grads = _run(reference_cell_multi_step, x.float(), v0.float(), k, cfg, seed)
        label = f"{cell} T={T} {dtype}"
        fired += int(out[0].sum())
        assert out[0].dtype == dtype and grads[0].dtype == dtype
        assert_close(out, ref_out, f"{label}: outputs", rtol=tol, atol=tol)
        assert_close(grads, ref_grads, f"{label}: gradients (x, v0[, k])", rtol=tol * 10, atol=tol * 10)
    assert fired > 100


def test_neurons_run_the_triton_kernel_and_fall_back_for_other_surrogates():
    x = (torch.randn(5, 2, 9, generator=torch.Generator().manual_seed(1)) * 0.6 + 0.5).to(DEVICE)
    for cls, kwargs in ((QIFNode, {}), (EIFNode, {}), (KLIFNode, {}), (IzhikevichNode, {"a": 0.3, "b": 0.2})):
        fast, plain = cls(step_mode="m", backend="triton", **kwargs), cls(step_mode="m", **kwargs)
        assert_close(fast(x), plain(x), f"{cls.__name__} triton vs torch", rtol=1e-5, atol=1e-5)
        assert_close(fast.v, plain.v, f"{cls.__name__} v", rtol=1e-5, atol=1e-5)
    config = CellConfig("qif", PARAMS["qif"], 1.0, -0.1, False, torch.nn.Sigmoid())
    spikes, v = cell_multi_step_triton(x, torch.zeros_like(x[0]), None, config)
    ref_spikes, ref_v = reference_cell_multi_step(x, torch.zeros_like(x[0]), None, config)
    assert_close([spikes, v], [ref_spikes, ref_v[-1]], "fallback to the torch kernel")


# (v_reset, detach_reset, surrogate, store_v_seq)
IZHIKEVICH_CONFIGS = [(0.0, False, Sigmoid(), True), (None, True, ATan(3.0), False)]


def _izhikevich_run(fn, x, v0, w0, config, seed):
    x, v0, w0 = (t.detach().clone().requires_grad_() for t in (x, v0, w0))
    spikes, v, w = fn(x, v0, w0, config)
    if v.dim() == x.dim() and not config.store_v_seq:
        v = v[-1]
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(out.shape, generator=g).bfloat16().float().to(out.device) for out in (spikes, v, w)]
    (sum((out.float() * wt).sum() for out, wt in zip((spikes, v, w), weights))).backward()
    return [spikes, v, w], [x.grad, v0.grad, w0.grad]


@pytest.mark.parametrize("config", IZHIKEVICH_CONFIGS, ids=["hard", "soft-detach"])
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_triton_izhikevich_matches_reference(config, dtype):
    v_reset, detach, surrogate, store = config
    tol = kernel_tolerance(dtype)
    fired = 0
    for seed, T in enumerate(KERNEL_TEST_STEPS):
        cfg = IzhikevichConfig(2.0, 0.8, 1.0, -0.1, 3.0, 0.3, 0.2, 1.0, v_reset, detach, surrogate, store)
        g = torch.Generator().manual_seed(seed)
        x = (torch.randn((T, *SHAPE), generator=g) * 0.6 + 0.5).to(DEVICE, dtype)
        v0 = (torch.rand(SHAPE, generator=g) * 0.5).to(DEVICE, dtype)
        w0 = (torch.rand(SHAPE, generator=g) * 0.2).to(DEVICE, dtype)
        out, grads = _izhikevich_run(TritonIzhikevichFunction.apply, x, v0, w0, cfg, seed)
        ref_out, ref_grads = _izhikevich_run(
            reference_izhikevich_multi_step, x.float(), v0.float(), w0.float(), cfg, seed
        )
        label = f"izhikevich T={T} {dtype}"
        fired += int(out[0].sum())
        assert_close(out, ref_out, f"{label}: outputs", rtol=tol, atol=tol)
        assert_close(grads, ref_grads, f"{label}: gradients (x, v0, w0)", rtol=tol * 10, atol=tol * 10)
    assert fired > 100
