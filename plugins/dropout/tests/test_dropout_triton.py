"""Seeded dropout: the PyTorch reference against triton's own generator, the triton kernel
against the reference (triton's CPU interpreter, or a GPU with
``SPIKELAYERS_TEST_DEVICE=cuda``), and the layers on the ``'triton'`` backend."""

from __future__ import annotations

import copy
import pickle

from spikelayers.testing import (
    KERNEL_TEST_DTYPES,
    KERNEL_TEST_STEPS,
    assert_close,
    kernel_tolerance,
    triton_test_device,
)

DEVICE = triton_test_device()

import pytest
import torch

triton = pytest.importorskip("triton")
import triton.language as tl

from spikelayers import functional
from spikelayers.errors import StateShapeError
from spikelayers.kernels import get_kernel
from spikelayers_dropout.dropout import Dropout, Dropout2d, SeededMask
from spikelayers_dropout.seeded_reference import philox_uniform, seeded_dropout_reference, seeded_keep_mask

SEEDS = [0, 1, 2**31 - 1, 2**31 + 5, 2**40 + 7, 2**63 - 1]


@triton.jit
def _uniform_kernel(out_ptr, seed, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offsets, tl.rand(seed, offsets), mask=offsets < n)


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_generator_is_tritons(seed):
    n = 2500
    drawn = torch.empty(n, device=DEVICE)
    _uniform_kernel[(triton.cdiv(n, 1024),)](drawn, seed, n, BLOCK=1024)
    want = philox_uniform(seed, torch.arange(n, device=DEVICE))
    assert torch.equal(drawn, want), "the reference's Philox differs from tl.rand"


def test_reference_masks_are_uniform_and_independent_of_the_seed():
    keep = seeded_keep_mask(123, 200_000, 0.3)
    assert abs(keep.float().mean().item() - 0.7) < 0.005
    other = seeded_keep_mask(124, 200_000, 0.3)
    agreement = (keep == other).float().mean().item()
    assert abs(agreement - (0.7**2 + 0.3**2)) < 0.005, "masks of neighbouring seeds are correlated"
    assert torch.equal(keep, seeded_keep_mask(123, 200_000, 0.3))


@pytest.mark.parametrize("bad", [-1, 2**63, 1.5, True])
def test_bad_seed_is_rejected(bad):
    with pytest.raises(ValueError, match="seed must be an int"):
        seeded_keep_mask(bad, 4, 0.5)


def _run(fn, x, seed, p, group):
    x = x.detach().clone().requires_grad_(True)
    y = fn(x, seed, p, group)
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(5)).to(y.device, y.dtype)
    (y.float() * weight.float()).sum().backward()
    return y.detach(), x.grad


# (step shape, group): elementwise masks over odd sizes, one spanning several blocks, and
# channel masks that share one draw across a spatial group.
STEPS = [((3, 5), 1), ((1, 1), 1), ((2, 1100), 1), ((2, 3, 7), 7), ((3, 2, 5, 5), 25)]


@pytest.mark.parametrize(("step", "group"), STEPS, ids=lambda v: str(v))
@pytest.mark.parametrize("T", KERNEL_TEST_STEPS)
@pytest.mark.parametrize("dtype", KERNEL_TEST_DTYPES, ids=str)
def test_triton_matches_reference(step, group, T, dtype):
    kernel = get_kernel("dropout.seeded", "triton", DEVICE)
    g = torch.Generator().manual_seed(T)
    x = torch.randn((T, *step), generator=g).to(DEVICE, dtype)
    seed, p = 2**33 + 17 * T, 0.3
    got = _run(kernel, x, seed, p, group)
    want = _run(seeded_dropout_reference, x, seed, p, group)
    # One mask and one multiply in float32: exact in float32; in bfloat16 the final rounding
    # may differ by one unit (the interpreter truncates where a GPU rounds to nearest).
    tol = 0.0 if dtype == torch.float32 else kernel_tolerance(dtype)
    assert_close(got, want, f"T={T} step={step} group={group} {dtype}", rtol=tol, atol=tol)
    assert torch.equal(got[0] == 0, want[0] == 0), "the kernel drops other elements than the reference"
    assert got[0].dtype == dtype and got[1].dtype == dtype


def test_triton_mask_groups_share_one_draw():
    kernel = get_kernel("dropout.seeded", "triton", DEVICE)
    y = kernel(torch.ones(2, 4, 3, 6, device=DEVICE), 99, 0.5, 6)
    zero = (y == 0).view(2, 4, 3, 6)
    assert (zero == zero[..., :1]).all(), "a channel is zeroed in part"
    assert (zero == zero[:1]).all(), "the mask changes between steps"
    assert zero.any() and (~zero).any()


def test_triton_keeps_no_tensor_for_backward():
    kernel = get_kernel("dropout.seeded", "triton", DEVICE)
    x = torch.randn(3, 2, 8, device=DEVICE, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = kernel(x, 7, 0.5, 1)
    assert saved == [], f"saved {[tuple(t.shape) for t in saved]} for backward"
    y.sum().backward()
    assert_close(x.grad, kernel(torch.ones_like(x), 7, 0.5, 1), "gradient from the regenerated mask")


def test_bad_group_is_rejected():
    kernel = get_kernel("dropout.seeded", "triton", DEVICE)
    with pytest.raises(ValueError, match="group must divide"):
        kernel(torch.ones(2, 3, 5, device=DEVICE), 1, 0.5, 4)


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
def test_layer_on_triton_backend_follows_the_seeded_reference(cls):
    layer = cls(0.4, step_mode="m").to(DEVICE)
    functional.set_backend(layer, "triton")
    x = torch.rand(5, 3, 4, 2, 3, device=DEVICE, requires_grad=True)
    torch.manual_seed(11)
    y = layer(x)
    y.sum().backward()
    mask = layer.seeded_mask
    assert isinstance(mask, SeededMask) and layer.mask is None
    group = 1 if cls is Dropout else 6
    assert_close(y, seeded_dropout_reference(x.detach(), mask.seed, 0.4, group), "output", rtol=0, atol=0)
    assert_close(x.grad, seeded_dropout_reference(torch.ones_like(x), mask.seed, 0.4, group), "grad", rtol=0, atol=0)


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
def test_layer_single_and_multi_step_agree_on_triton(cls):
    x = torch.rand(4, 3, 5, 6, device=DEVICE)
    multi, single = cls(0.5, step_mode="m").to(DEVICE), cls(0.5).to(DEVICE)
    functional.set_backend(multi, "triton")
    functional.set_backend(single, "triton")
    torch.manual_seed(3)
    y_m = multi(x)
    torch.manual_seed(3)
    y_s = torch.stack([single(step) for step in x])
    assert_close(y_m, y_s, "'m' vs a loop of 's'", rtol=0, atol=0)


def test_layer_triton_mask_holds_until_reset_and_survives_copies():
    layer = Dropout(0.5, step_mode="m").to(DEVICE)
    layer.backend = "triton"
    x = torch.ones(2, 16, 32, device=DEVICE)
    first = layer(x)
    twin = copy.deepcopy(layer)
    pickled = pickle.loads(pickle.dumps(layer))
    assert_close(layer(x), first, "same mask before reset", rtol=0, atol=0)
    assert_close(twin(x), first, "a deep copy continues with the mask", rtol=0, atol=0)
    assert_close(pickled(x), first, "a pickle continues with the mask", rtol=0, atol=0)
    functional.reset_net(layer)
    assert layer.seeded_mask is None
    assert not torch.equal(layer(x), first)


def test_layer_triton_rejects_a_new_batch_size_without_reset():
    layer = Dropout(0.5, step_mode="m").to(DEVICE)
    layer.backend = "triton"
    layer(torch.ones(2, 3, 4, device=DEVICE))
    with pytest.raises(StateShapeError, match=r"Dropout.*reset_net"):
        layer(torch.ones(2, 5, 4, device=DEVICE))


def test_layer_triton_eval_and_empty_inputs():
    layer = Dropout2d(0.5, step_mode="m").to(DEVICE)
    layer.backend = "triton"
    x = torch.rand(3, 0, 4, 5, device=DEVICE)
    assert layer(x).shape == x.shape
    layer.eval()
    x = torch.rand(3, 2, 4, 5, device=DEVICE)
    assert torch.equal(layer(x), x)
