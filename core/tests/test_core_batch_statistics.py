"""The faster training-mode batch norm held to torch's BatchNorm modules, and when it steps aside."""

import copy

import pytest
import torch
from torch import nn

from spikelayers import batch_statistics
from spikelayers.batch_statistics import batch_norm, batch_norm_forward, takes_fast_batch_norm
from spikelayers.containers import SeqToANNContainer
from spikelayers.testing import assert_close

CONFIGS = [
    {},
    {"affine": False},
    {"momentum": None},
    {"track_running_stats": False},
    {"eps": 0.1, "momentum": 0.3},
]
SHAPES = {nn.BatchNorm1d: (6, 3, 70), nn.BatchNorm2d: (5, 3, 8, 9), nn.BatchNorm3d: (4, 3, 4, 4, 5)}


@pytest.fixture
def every_size(monkeypatch):
    """Let the fast path take the tests' small inputs."""
    monkeypatch.setattr(batch_statistics, "FAST_PATH_MIN_ELEMENTS", 0)
    monkeypatch.setattr(batch_statistics, "FAST_PATH_MIN_ROW", 1)


def _randomised(norm_class, **config):
    torch.manual_seed(0)
    norm = norm_class(3, **config).double()
    with torch.no_grad():
        if norm.affine:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_()
        if norm.running_mean is not None:
            norm.running_mean.normal_()
            norm.running_var.uniform_(0.5, 2.0)
    return norm


def _state(norm):
    return [t.clone() for t in norm.buffers()]


@pytest.mark.usefixtures("every_size")
@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("norm_class", list(SHAPES), ids=lambda c: c.__name__)
def test_matches_torch_batch_norm_over_three_training_calls(norm_class, config):
    """Outputs, input/weight/bias gradients, running statistics and counters, call after call."""
    fast, slow = _randomised(norm_class, **config), None
    slow = copy.deepcopy(fast)
    for call in range(3):
        x = (2 * torch.randn(SHAPES[norm_class], dtype=torch.float64) + call).requires_grad_(True)
        assert takes_fast_batch_norm(x, fast)
        y = batch_norm_forward(x, fast)
        expected = slow(x)
        assert_close(y, expected, f"output of call {call}", rtol=1e-10, atol=1e-12)
        assert_close(_state(fast), _state(slow), f"buffers after call {call}", rtol=1e-10, atol=1e-12)
        weight = torch.randn_like(y)
        grads = torch.autograd.grad((y * weight).sum(), [x, *fast.parameters()])
        expected_grads = torch.autograd.grad((expected * weight).sum(), [x, *slow.parameters()])
        assert_close(list(grads), list(expected_grads), "gradients", rtol=1e-9, atol=1e-11)


@pytest.mark.usefixtures("every_size")
@pytest.mark.parametrize("affine", [True, False])
def test_second_derivatives(affine):
    """Double backward (a gradient penalty) accounts for the statistics' dependence on the input."""
    norm = _randomised(nn.BatchNorm2d, affine=affine, track_running_stats=False)
    x = torch.randn(3, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    params = tuple(norm.parameters())

    def normalise(x, *weights):
        layer = copy.deepcopy(norm)
        for name, w in zip(("weight", "bias"), weights, strict=False):
            delattr(layer, name)  # the parameter, replaced by the differentiated tensor
            setattr(layer, name, w)
        return batch_norm_forward(x, layer)

    assert torch.autograd.gradgradcheck(normalise, (x, *params))


@pytest.mark.usefixtures("every_size")
def test_float32_at_a_large_size_matches_torch():
    """The path as the defaults take it, on a float32 ``[T*N, C, H, W]`` activation."""
    norm = nn.BatchNorm2d(8)
    slow = copy.deepcopy(norm)
    x = torch.randn(16, 8, 32, 32).mul_(3).add_(1).requires_grad_(True)
    assert takes_fast_batch_norm(x, norm)
    y, expected = batch_norm_forward(x, norm), slow(x)
    assert_close(y, expected, "output", rtol=1e-5, atol=1e-5)
    assert_close(_state(norm), _state(slow), "buffers", rtol=1e-5, atol=1e-6)
    g = torch.randn_like(y)
    assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(expected, x, g)[0], "grad", rtol=1e-4, atol=1e-5)


def test_the_default_thresholds_take_large_activations_only():
    norm = nn.BatchNorm2d(64)
    assert takes_fast_batch_norm(torch.empty(32, 64, 16, 16), norm)
    assert not takes_fast_batch_norm(torch.empty(4, 64, 8, 8), norm)  # few elements
    assert not takes_fast_batch_norm(torch.empty(512, 64, 4, 4), norm)  # short rows


@pytest.mark.usefixtures("every_size")
def test_calls_that_stay_with_torch():
    norm = nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 5, 5)
    assert takes_fast_batch_norm(x, norm)
    assert not takes_fast_batch_norm(x.to(memory_format=torch.channels_last), norm)
    assert not takes_fast_batch_norm(x.bfloat16(), norm.bfloat16())
    assert not takes_fast_batch_norm(x[:, :, :, :3], norm)  # strided
    assert not takes_fast_batch_norm(torch.randn(4, 2, 5, 5), norm)  # wrong channels: torch raises
    norm.eval()
    assert not takes_fast_batch_norm(x, norm)  # running statistics: torch's single pass
    eval_without_stats = nn.BatchNorm2d(3, track_running_stats=False).eval()
    assert takes_fast_batch_norm(x, eval_without_stats)  # batch statistics in eval too


@pytest.mark.usefixtures("every_size")
def test_inside_torch_func_and_compile_it_is_torch_batch_norm():
    norm = nn.BatchNorm2d(3, track_running_stats=False)
    x = torch.randn(2, 4, 3, 5, 5)
    seen = []

    def probe(x):
        seen.append(takes_fast_batch_norm(x, norm))
        return batch_norm_forward(x, norm)

    torch.func.vmap(probe)(x)
    assert seen == [False]


@pytest.mark.usefixtures("every_size")
def test_errors_are_torchs_and_leave_the_counter():
    norm = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match="expected 4D input"):
        batch_norm_forward(torch.randn(4, 3, 5), norm)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm_forward(torch.randn(1, 3, 1, 1), norm)
    assert norm.num_batches_tracked.item() == 0


@pytest.mark.usefixtures("every_size")
def test_hooks_and_overridden_forward_call_the_module():
    norm = nn.BatchNorm2d(3)
    calls = []
    handle = norm.register_forward_hook(lambda module, args, out: calls.append(out.shape))
    x = torch.randn(4, 3, 5, 5)
    batch_norm(x, norm)
    assert calls == [x.shape]
    handle.remove()

    class Shifted(nn.BatchNorm2d):
        def forward(self, x):
            return super().forward(x) + 1.0

    shifted = Shifted(3)
    assert batch_norm(x, shifted).mean().item() == pytest.approx(1.0, abs=1e-5)
    assert batch_norm(x, nn.ReLU()).min().item() >= 0


def test_seq_to_ann_container_of_convolution_and_batch_norm_matches_torch():
    """The common ``SeqToANNContainer(conv, BatchNorm)`` takes the fast path at activation sizes."""
    torch.manual_seed(0)
    block = SeqToANNContainer(nn.Conv2d(4, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))
    plain = copy.deepcopy(block)
    x = torch.randn(4, 8, 4, 32, 32, requires_grad=True)
    assert takes_fast_batch_norm(torch.empty(32, 16, 32, 32), block[1])
    y = block(x)
    expected = plain[1](plain[0](x.flatten(0, 1))).unflatten(0, (4, 8))
    assert_close(y, expected, "output", rtol=1e-5, atol=1e-5)
    assert_close(_state(block), _state(plain), "buffers", rtol=1e-5, atol=1e-6)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, *block.parameters()], g)
    expected_grads = torch.autograd.grad(expected, [x, *plain.parameters()], g)
    assert_close(list(grads), list(expected_grads), "gradients", rtol=1e-4, atol=1e-4)
