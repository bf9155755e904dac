"""The fused QIF/EIF/KLIF/Izhikevich kernels against their readable references, over the
kernel-test grid (every ``T`` of ``KERNEL_TEST_STEPS``, every dtype of ``KERNEL_TEST_DTYPES``;
the reference runs in float32 on the same rounded inputs), forward and backward."""

import itertools

import pytest
import torch

from spikelayers.testing import KERNEL_TEST_DTYPES, KERNEL_TEST_STEPS, assert_close, kernel_tolerance
from spikelayers_neuron.cells import CellConfig, IzhikevichConfig
from spikelayers_neuron.fused_cells import (
    FusedCellFunction,
    FusedIzhikevichFunction,
    cell_multi_step,
    izhikevich_multi_step,
)
from spikelayers_neuron.ops import blocks
from spikelayers_neuron.reference import reference_cell_multi_step, reference_izhikevich_multi_step
from spikelayers_neuron.surrogate import ATan, PiecewiseQuadratic, Sigmoid

SURROGATES = {"sigmoid": Sigmoid(), "atan": ATan(alpha=3.0), "pwq": PiecewiseQuadratic(alpha=0.8)}
RESETS = {"hard": -0.1, "soft": None}
CELL_PARAMS = {
    "qif": (2.0, 0.8, 1.0, 0.0),
    "eif": (3.0, 0.7, 0.8, 0.0),
    "klif": (2.0, 1.0, 0.0),
    "klif-no-decay-input": (3.0, 0.0, -0.1),
}
SHAPE = (3, 4)


def _inputs(T, dtype, seed, shape=SHAPE):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn((T, *shape), generator=g) * 0.7 + 0.5).to(dtype)
    v0 = (torch.rand(shape, generator=g) * 0.6 - 0.1).to(dtype)
    w0 = (torch.rand(shape, generator=g) * 0.2).to(dtype)
    return x, v0, w0


def _loss(outputs, seed):
    g = torch.Generator().manual_seed(seed + 11)
    return sum((out.float() * torch.randn(out.shape, generator=g)).sum() for out in outputs)


def _cell_run(fn, x, v0, k, config, seed):
    x = x.detach().clone().requires_grad_()
    v0 = v0.detach().clone().requires_grad_()
    k = None if k is None else k.detach().clone().requires_grad_()
    spikes, v = fn(x, v0, k, config)
    if v.dim() == x.dim() and not config.store_v_seq:  # the reference returns every step
        v = v[-1]
    _loss([spikes, v], seed).backward()
    return [spikes, v], [x.grad, v0.grad] + ([k.grad] if k is not None else [])


@pytest.mark.parametrize(
    ("cell", "reset", "detach", "surrogate"),
    list(itertools.product(CELL_PARAMS, RESETS, (False, True), SURROGATES)),
)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_fused_cell_matches_reference(cell, reset, detach, surrogate, dtype):
    tol = kernel_tolerance(dtype)
    fired = 0
    for seed, T in enumerate(KERNEL_TEST_STEPS):
        store = seed % 2 == 1
        config = CellConfig(
            cell.split("-")[0], CELL_PARAMS[cell], 1.0, RESETS[reset], detach, SURROGATES[surrogate], store
        )
        x, v0, _ = _inputs(T, dtype, seed)
        k = torch.tensor(1.3) if cell.startswith("klif") else None
        out, grads = _cell_run(FusedCellFunction.apply, x, v0, k, config, seed)
        ref_out, ref_grads = _cell_run(reference_cell_multi_step, x.float(), v0.float(), k, config, seed)
        label = f"{cell} {reset} detach={detach} {surrogate} T={T} {dtype} store={store}"
        assert out[0].dtype == dtype and grads[0].dtype == dtype
        fired += int(out[0].sum())
        assert_close(out, ref_out, f"{label}: outputs", rtol=tol, atol=tol)
        assert_close(grads, ref_grads, f"{label}: gradients (x, v0[, k])", rtol=tol * 10, atol=tol * 10)
    assert fired > 10, "too few spikes: the comparison would not exercise the reset"


def _izhikevich_run(fn, x, v0, w0, config, seed):
    x, v0, w0 = (t.detach().clone().requires_grad_() for t in (x, v0, w0))
    spikes, v, w = fn(x, v0, w0, config)
    if v.dim() == x.dim() and not config.store_v_seq:
        v = v[-1]
    _loss([spikes, v, w], seed).backward()
    return [spikes, v, w], [x.grad, v0.grad, w0.grad]


@pytest.mark.parametrize(("reset", "detach", "surrogate"), list(itertools.product(RESETS, (False, True), SURROGATES)))
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES)
def test_fused_izhikevich_matches_reference(reset, detach, surrogate, dtype):
    tol = kernel_tolerance(dtype)
    fired = 0
    for seed, T in enumerate(KERNEL_TEST_STEPS):
        store = seed % 2 == 0
        config = IzhikevichConfig(
            2.0, 0.8, 1.0, -0.1, 3.0, 0.3, 0.2, 1.0, RESETS[reset], detach, SURROGATES[surrogate], store
        )
        x, v0, w0 = _inputs(T, dtype, seed)
        out, grads = _izhikevich_run(FusedIzhikevichFunction.apply, x, v0, w0, config, seed)
        ref_out, ref_grads = _izhikevich_run(
            reference_izhikevich_multi_step, x.float(), v0.float(), w0.float(), config, seed
        )
        label = f"izhikevich {reset} detach={detach} {surrogate} T={T} {dtype} store={store}"
        fired += int(out[0].sum())
        assert_close(out, ref_out, f"{label}: outputs", rtol=tol, atol=tol)
        assert_close(grads, ref_grads, f"{label}: gradients (x, v0, w0)", rtol=tol * 10, atol=tol * 10)
    assert fired > 10, "too few spikes: the comparison would not exercise the reset"


def test_fused_cell_keeps_no_per_step_graph():
    config = CellConfig("qif", CELL_PARAMS["qif"], 1.0, -0.1, False, Sigmoid())
    x = torch.randn(5, 3, requires_grad=True)
    spikes, _ = FusedCellFunction.apply(x, torch.zeros(3), None, config)
    assert [tuple(h.shape) for h in spikes.grad_fn.h_steps] == [(3,)] * 5
    assert all(not h.requires_grad for h in spikes.grad_fn.h_steps)


def test_surrogate_without_derivative_runs_the_reference_loop():
    class Custom(torch.nn.Module):
        def forward(self, x):
            return Sigmoid()(x) * 1.0

    config = CellConfig("eif", CELL_PARAMS["eif"], 1.0, -0.1, False, Custom(), True)
    x, v0, _ = _inputs(4, torch.float64, 3)
    out, grads = _cell_run(cell_multi_step, x, v0, None, config, 3)
    ref_out, ref_grads = _cell_run(reference_cell_multi_step, x, v0, None, config, 3)
    assert_close(out + grads, ref_out + ref_grads, "custom surrogate", rtol=1e-12)
    iz = IzhikevichConfig(2.0, 0.8, 1.0, -0.1, 3.0, 0.3, 0.2, 1.0, 0.0, False, Custom())
    x, v0, w0 = _inputs(4, torch.float64, 4)
    out, grads = _izhikevich_run(izhikevich_multi_step, x, v0, w0, iz, 4)
    ref_out, ref_grads = _izhikevich_run(reference_izhikevich_multi_step, x, v0, w0, iz, 4)
    assert_close(out + grads, ref_out + ref_grads, "custom surrogate (Izhikevich)", rtol=1e-12)


def test_empty_sequence_returns_the_initial_state():
    config = CellConfig("qif", CELL_PARAMS["qif"], 1.0, -0.1, False, Sigmoid())
    spikes, v = cell_multi_step(torch.empty(0, 3), torch.full((3,), 0.2), None, config)
    assert spikes.shape == (0, 3) and torch.equal(v, torch.full((3,), 0.2))
    iz = IzhikevichConfig(2.0, 0.8, 1.0, -0.1, 3.0, 0.3, 0.2, 1.0, 0.0, False, Sigmoid())
    spikes, v, w = izhikevich_multi_step(torch.empty(0, 3), torch.zeros(3), torch.ones(3), iz)
    assert spikes.shape == (0, 3) and torch.equal(w, torch.ones(3))


@pytest.mark.parametrize("cell", [*CELL_PARAMS, "izhikevich"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_cells_match_reference_across_column_blocks(cell, dtype, monkeypatch):
    """Several column blocks (the last one partial) give the reference's numbers."""
    monkeypatch.setattr(blocks, "CPU_BLOCK_BYTES", 64 * 4)
    assert len(blocks.column_blocks(3 * 50, 4, "cpu")) == 3
    tol = kernel_tolerance(dtype)
    for seed, store in enumerate((False, True)):
        x, v0, w0 = _inputs(5, dtype, seed, shape=(3, 50))
        if cell == "izhikevich":
            config = IzhikevichConfig(2.0, 0.8, 1.0, -0.1, 3.0, 0.3, 0.2, 1.0, -0.1, False, ATan(), store)
            out, grads = _izhikevich_run(FusedIzhikevichFunction.apply, x, v0, w0, config, seed)
            float_inputs = (x.float(), v0.float(), w0.float())
            ref_out, ref_grads = _izhikevich_run(reference_izhikevich_multi_step, *float_inputs, config, seed)
        else:
            config = CellConfig(cell.split("-")[0], CELL_PARAMS[cell], 1.0, -0.1, False, ATan(), store)
            k = torch.tensor(1.3) if cell.startswith("klif") else None
            out, grads = _cell_run(FusedCellFunction.apply, x, v0, k, config, seed)
            ref_out, ref_grads = _cell_run(reference_cell_multi_step, x.float(), v0.float(), k, config, seed)
        label = f"{cell} {dtype} store={store}, 3 column blocks"
        assert 0 < int(out[0].sum()) < out[0].numel(), f"{label}: no spikes, or only spikes"
        assert_close(out, ref_out, f"{label}: outputs", rtol=tol, atol=tol)
        assert_close(grads, ref_grads, f"{label}: gradients", rtol=tol * 10, atol=tol * 10)
