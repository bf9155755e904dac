"""Multi-step mode equals the plain torch layer applied step by step; checkpoints,
layouts, errors, Flatten, max-pool indices and VotingLayer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikelayers.testing import assert_close
from spikelayers_stateless import conv, flatten, linear, pool, upsample, voting

T = 3

# (our layer, the plain torch layer with the same arguments, one step's input shape)
PAIRS = [
    (lambda: conv.Conv1d(2, 4, 3, stride=2, dilation=2), lambda: nn.Conv1d(2, 4, 3, stride=2, dilation=2), (2, 2, 9)),
    (
        lambda: conv.Conv2d(4, 4, 3, padding="same", groups=2, padding_mode="circular"),
        lambda: nn.Conv2d(4, 4, 3, padding="same", groups=2, padding_mode="circular"),
        (2, 4, 5, 6),
    ),
    (lambda: conv.Conv3d(2, 3, (1, 2, 2)), lambda: nn.Conv3d(2, 3, (1, 2, 2)), (2, 2, 2, 3, 3)),
    (lambda: conv.ConvTranspose1d(2, 3, 2, stride=2), lambda: nn.ConvTranspose1d(2, 3, 2, stride=2), (2, 2, 4)),
    (
        lambda: conv.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, dilation=1),
        lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, dilation=1),
        (2, 2, 3, 4),
    ),
    (lambda: conv.ConvTranspose3d(2, 2, 2), lambda: nn.ConvTranspose3d(2, 2, 2), (1, 2, 2, 2, 2)),
    (lambda: pool.MaxPool1d(3, 2, 1), lambda: nn.MaxPool1d(3, 2, 1), (2, 3, 7)),
    (lambda: pool.MaxPool2d(2, ceil_mode=True), lambda: nn.MaxPool2d(2, ceil_mode=True), (2, 3, 5, 5)),
    (lambda: pool.MaxPool3d(2, dilation=1), lambda: nn.MaxPool3d(2, dilation=1), (1, 2, 4, 4, 4)),
    (
        lambda: pool.AvgPool1d(2, count_include_pad=False, padding=1),
        lambda: nn.AvgPool1d(2, padding=1, count_include_pad=False),
        (2, 3, 5),
    ),
    (lambda: pool.AvgPool2d(3, 1, 1), lambda: nn.AvgPool2d(3, 1, 1), (2, 3, 4, 4)),
    (lambda: pool.AvgPool3d(2, divisor_override=5), lambda: nn.AvgPool3d(2, divisor_override=5), (1, 2, 4, 4, 4)),
    (lambda: pool.AdaptiveAvgPool1d(2), lambda: nn.AdaptiveAvgPool1d(2), (2, 3, 5)),
    (lambda: pool.AdaptiveAvgPool2d(1), lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 4, 5)),
    (lambda: pool.AdaptiveAvgPool3d((1, 2, None)), lambda: nn.AdaptiveAvgPool3d((1, 2, None)), (1, 2, 3, 4, 5)),
    (lambda: linear.Linear(5, 3), lambda: nn.Linear(5, 3), (2, 4, 5)),
    (lambda: flatten.Flatten(2), lambda: nn.Flatten(2), (2, 3, 4, 5)),
    (
        lambda: upsample.Upsample(scale_factor=(2, 1), mode="bicubic"),
        lambda: nn.Upsample(scale_factor=(2, 1), mode="bicubic"),
        (2, 2, 3, 3),
    ),
]


@pytest.mark.parametrize(
    ("ours_factory", "torch_factory", "step_shape"),
    [pytest.param(*pair, id=type(pair[1]()).__name__) for pair in PAIRS],
)
def test_multi_step_equals_torch_layer_per_step(ours_factory, torch_factory, step_shape):
    torch.manual_seed(0)
    ours = ours_factory()
    plain = torch_factory()
    plain.load_state_dict(ours.state_dict())
    ours.step_mode = "m"
    x = torch.randn(T, *step_shape, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    ours.double()
    plain.double()
    y = ours(x)
    y_ref = torch.stack([plain(x_ref[t]) for t in range(T)])
    assert_close(y, y_ref, f"{type(ours).__name__} 'm' vs torch per step")
    weight = torch.randn(y.shape, dtype=y.dtype)
    (y * weight).sum().backward()
    (y_ref * weight).sum().backward()
    assert_close(x.grad, x_ref.grad, "input gradient")
    for (name, p), p_ref in zip(ours.named_parameters(), plain.parameters()):
        assert_close(p.grad, p_ref.grad, f"gradient of {name}")


@pytest.mark.parametrize(
    ("ours", "plain"),
    [
        (conv.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)),
        (conv.ConvTranspose2d(3, 4, 3, bias=False), nn.ConvTranspose2d(3, 4, 3, bias=False)),
        (linear.Linear(6, 2), nn.Linear(6, 2)),
    ],
    ids=lambda m: type(m).__module__.split(".")[0] + "." + type(m).__name__,
)
def test_torch_checkpoint_loads_strictly(ours, plain):
    ours.load_state_dict(plain.state_dict())
    assert list(ours.state_dict()) == list(plain.state_dict())
    for key, value in plain.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


def test_single_step_takes_unbatched_input_like_torch():
    ours = conv.Conv2d(2, 3, 3)
    plain = nn.Conv2d(2, 3, 3)
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 5)
    assert_close(ours(x), plain(x), "unbatched Conv2d")
    assert pool.MaxPool1d(2)(torch.randn(3, 6)).shape == (3, 3)


def test_transposed_convolution_passes_output_size_in_both_modes():
    layer = conv.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = torch.randn(T, 2, 2, 4, 4)
    per_step = torch.stack([layer(x[t], output_size=[8, 8]) for t in range(T)])
    layer.step_mode = "m"
    y = layer(x, output_size=[8, 8])
    assert y.shape == (T, 2, 3, 8, 8)
    assert_close(y, per_step, "ConvTranspose2d output_size")


@pytest.mark.parametrize(
    ("layer", "bad_shape", "pattern"),
    [
        (
            conv.Conv2d(2, 3, 3, step_mode="m"),
            (2, 2, 5, 5),
            r"Conv2d \(step_mode='m'\) expects input \[T, N, C, H, W\]",
        ),
        (
            conv.Conv2d(2, 3, 3),
            (3, 2, 2, 5, 5),
            r"Conv2d \(step_mode='s'\) expects input \[N, C, H, W\] or \[C, H, W\]",
        ),
        (
            conv.Conv2d(2, 3, 3, step_mode="m"),
            (3, 2, 4, 5, 5),
            r"Conv2d .* with C=2 \(in_channels\), got shape \(3, 2, 4, 5, 5\)",
        ),
        (conv.ConvTranspose1d(2, 3, 3), (1, 2, 2, 5), r"ConvTranspose1d .*\[N, C, L\]"),
        (
            pool.MaxPool3d(2, step_mode="m"),
            (2, 2, 4, 4, 4),
            r"MaxPool3d .*\[T, N, C, D, H, W\].*got shape \(2, 2, 4, 4, 4\)",
        ),
        (pool.AvgPool1d(2), (2, 2, 2, 6), r"AvgPool1d .*\[N, C, L\] or \[C, L\]"),
        (linear.Linear(4, 3, step_mode="m"), (2, 4), r"Linear .*\[T, N, \*, in_features\] \(at least 3-D\)"),
        (linear.Linear(4, 3), (2, 5), r"Linear .*in_features=4, got shape \(2, 5\)"),
        (upsample.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 2, 3, 3), r"Upsample .*\[N, C, H, W\]"),
        (upsample.Upsample(size=(4, 4, 4), step_mode="m"), (2, 2, 2, 3, 3), r"Upsample .*\[T, N, C, D, H, W\]"),
        (flatten.Flatten(2, step_mode="m"), (2, 3), r"Flatten .*\[T, N, \*\] \(at least 4-D\)"),
        (voting.VotingLayer(4), (2, 10), r"VotingLayer .*multiple of voting_size=4, got shape \(2, 10\)"),
        (voting.VotingLayer(4, step_mode="m"), (8,), r"VotingLayer .*\[T, \*, C \* voting_size\]"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None,
)
def test_bad_input_names_layer_and_layout(layer, bad_shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        layer(torch.randn(bad_shape))


def test_flatten_multi_step_flattens_each_sample():
    x = torch.randn(T, 2, 3, 4, 5)
    layer = flatten.Flatten(step_mode="m")
    y = layer(x)
    assert y.shape == (T, 2, 60)
    assert torch.equal(y[1, 0], x[1, 0].reshape(-1))
    assert y.data_ptr() == x.data_ptr()  # a view, no copy
    assert flatten.Flatten(2, 3, step_mode="m")(x).shape == (T, 2, 3, 20)


@pytest.mark.parametrize(("start", "end"), [(0, -1), (0, 1), (1, 2), (-2, -1)])
def test_flatten_multi_step_is_stack_of_single_steps(start, end):
    x = torch.randn(T, 2, 3, 4)
    single = flatten.Flatten(start, end)
    multi = flatten.Flatten(start, end, step_mode="m")
    assert torch.equal(multi(x), torch.stack([single(x[t]) for t in range(T)]))


def test_max_pool_indices_in_multi_step_mode_unfold_and_unpool():
    x = torch.randn(T, 2, 3, 4, 6)
    layer = pool.MaxPool2d(2, return_indices=True, step_mode="m")
    y, indices = layer(x)
    assert y.shape == indices.shape == (T, 2, 3, 2, 3)
    for t in range(T):
        y_t, indices_t = F.max_pool2d(x[t], 2, return_indices=True)
        assert torch.equal(y[t], y_t)
        assert torch.equal(indices[t], indices_t)
    restored = F.max_unpool2d(y.flatten(0, 1), indices.flatten(0, 1), 2, output_size=(4, 6)).unflatten(0, (T, 2))
    assert torch.equal(restored.amax(dim=(-1, -2)), x.amax(dim=(-1, -2)))


def voting_reference(x: torch.Tensor, voting_size: int) -> torch.Tensor:
    """The documented definition: class c averages inputs c*v .. (c+1)*v - 1."""
    classes = x.shape[-1] // voting_size
    out = torch.empty(*x.shape[:-1], classes, dtype=x.dtype)
    for c in range(classes):
        out[..., c] = x[..., c * voting_size : (c + 1) * voting_size].sum(-1) / voting_size
    return out


@pytest.mark.parametrize("shape", [(12,), (2, 12), (3, 2, 12), (3, 2, 4, 12)])
@pytest.mark.parametrize("mode", ["s", "m"])
def test_voting_layer_matches_definition_for_any_leading_dims(shape, mode):
    if mode == "m" and len(shape) < 2:
        with pytest.raises(ValueError):
            voting.VotingLayer(3, step_mode=mode)(torch.randn(shape))
        return
    x = torch.randn(shape, dtype=torch.float64)
    y = voting.VotingLayer(3, step_mode=mode)(x)
    assert y.shape == (*shape[:-1], 4)
    assert_close(y, voting_reference(x, 3), "VotingLayer")
    assert_close(y, F.avg_pool1d(x.reshape(-1, 1, 12), 3, 3).reshape(y.shape), "VotingLayer vs avg_pool1d")
