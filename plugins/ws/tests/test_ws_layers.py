"""WSConv2d and WSLinear against a readable per-unit definition of weight standardisation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikelayers import layer
from spikelayers.testing import assert_close, check_signature
from spikelayers_ws.conv import WSConv2d
from spikelayers_ws.linear import WSLinear

T = 3


def reference_standardize(weight: torch.Tensor, gain: torch.Tensor | None, eps: float) -> torch.Tensor:
    """Per output unit, with explicit sums: (w - mean) / sqrt(var * fan_in + eps), times gain."""
    rows = []
    for unit in weight:
        values = unit.reshape(-1)
        n = values.numel()
        mean = values.sum() / n
        var = ((values - mean) ** 2).sum() / (n - 1)
        rows.append((unit - mean) / torch.sqrt(var * n + eps))
    standardized = torch.stack(rows)
    return standardized if gain is None else standardized * gain


@pytest.mark.parametrize(("cls", "base"), [(WSConv2d, nn.Conv2d), (WSLinear, nn.Linear)])
def test_signature_base_class_and_registry(cls, base):
    check_signature(cls)
    assert issubclass(cls, base)
    assert getattr(layer, cls.__name__) is cls


def test_gain_shapes_and_state_dict_keys():
    conv = WSConv2d(3, 4, 3)
    assert conv.gain.shape == (4, 1, 1, 1)
    assert torch.equal(conv.gain, torch.ones(4, 1, 1, 1))
    assert list(conv.state_dict()) == ["weight", "bias", "gain"]
    fc = WSLinear(5, 2)
    assert fc.gain.shape == (2, 1)
    assert WSLinear(5, 2, bias=False, gain=False).gain is None
    assert list(WSLinear(5, 2, gain=False).state_dict()) == ["weight", "bias"]


@pytest.mark.parametrize("gain", [True, False])
def test_get_weight_matches_definition(gain):
    torch.manual_seed(0)
    conv = WSConv2d(4, 6, (3, 2), groups=2, gain=gain, eps=1e-3).double()
    fc = WSLinear(7, 3, gain=gain).double()
    if gain:
        with torch.no_grad():
            conv.gain.uniform_(0.5, 2.0)
            fc.gain.uniform_(0.5, 2.0)
    assert_close(conv.get_weight(), reference_standardize(conv.weight, conv.gain, 1e-3), "WSConv2d weight")
    assert_close(fc.get_weight(), reference_standardize(fc.weight, fc.gain, 1e-4), "WSLinear weight")


def test_standardised_rows_have_zero_mean_and_fan_in_scaled_variance():
    fc = WSLinear(50, 4, gain=False, eps=0.0).double()
    w = fc.get_weight()
    assert_close(w.mean(1), torch.zeros(4, dtype=w.dtype), "row means", atol=1e-12)
    assert_close(w.var(1) * 50, torch.ones(4, dtype=w.dtype), "row variance * fan_in")


CONV_ARGS = [
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": 2, "padding_mode": "circular", "stride": 2},
    {"padding": 1, "padding_mode": "replicate", "dilation": 2},
    {"padding": "same", "groups": 2, "bias": False},
    {"padding": (1, 0), "stride": (1, 2), "gain": False},
]


@pytest.mark.parametrize("kwargs", CONV_ARGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_ws_conv2d_multi_step_matches_per_step_definition(kwargs):
    torch.manual_seed(1)
    conv = WSConv2d(4, 6, 3, step_mode="m", **kwargs).double()
    if conv.gain is not None:
        with torch.no_grad():
            conv.gain.uniform_(0.5, 2.0)
    params = dict(conv.named_parameters())
    ref_params = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
    x = torch.randn(T, 2, 4, 7, 8, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)

    def reference_step(x_t: torch.Tensor) -> torch.Tensor:
        weight = reference_standardize(ref_params["weight"], ref_params.get("gain"), conv.eps)
        mode = conv.padding_mode
        if mode != "zeros":
            ph, pw = conv.padding
            x_t = F.pad(x_t, (pw, pw, ph, ph), mode=mode)
            padding = 0
        else:
            padding = conv.padding
        return F.conv2d(x_t, weight, ref_params.get("bias"), conv.stride, padding, conv.dilation, conv.groups)

    y = conv(x)
    y_ref = torch.stack([reference_step(x_ref[t]) for t in range(T)])
    assert_close(y, y_ref, "WSConv2d 'm' vs per-step definition")
    grad_out = torch.randn(y.shape, dtype=y.dtype)
    y.backward(grad_out)
    y_ref.backward(grad_out)
    assert_close(x.grad, x_ref.grad, "input gradient")
    for name, p in params.items():
        assert_close(p.grad, ref_params[name].grad, f"gradient of {name}")


def test_padding_mode_changes_the_output():
    torch.manual_seed(2)
    zeros = WSConv2d(2, 3, 3, padding=1)
    reflect = WSConv2d(2, 3, 3, padding=1, padding_mode="reflect")
    reflect.load_state_dict(zeros.state_dict())
    x = torch.randn(1, 2, 5, 5)
    assert not torch.allclose(zeros(x), reflect(x))


@pytest.mark.parametrize("gain", [True, False])
def test_ws_linear_multi_step_matches_per_step_definition(gain):
    torch.manual_seed(3)
    fc = WSLinear(6, 4, gain=gain, step_mode="m").double()
    x = torch.randn(T, 2, 3, 6, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    params = dict(fc.named_parameters())
    ref_params = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
    y = fc(x)
    y_ref = torch.stack(
        [
            x_ref[t] @ reference_standardize(ref_params["weight"], ref_params.get("gain"), 1e-4).T + ref_params["bias"]
            for t in range(T)
        ]
    )
    assert_close(y, y_ref, "WSLinear 'm' vs per-step definition")
    y.sum().backward()
    y_ref.sum().backward()
    assert_close(x.grad, x_ref.grad, "input gradient")
    for name, p in params.items():
        assert_close(p.grad, ref_params[name].grad, f"gradient of {name}")


@pytest.mark.parametrize(
    ("module", "x_shape"),
    [(WSConv2d(2, 3, 3, step_mode="m"), (T, 2, 2, 5, 5)), (WSLinear(4, 2, step_mode="m"), (T, 2, 4))],
    ids=["WSConv2d", "WSLinear"],
)
def test_multi_step_standardises_once_per_forward(module, x_shape, monkeypatch):
    calls = []
    original = type(module).get_weight

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(type(module), "get_weight", counting)
    module(torch.randn(x_shape))
    assert len(calls) == 1


def test_ws_linear_with_default_gain_trains():
    torch.manual_seed(4)
    fc = WSLinear(8, 3)
    x = torch.randn(T, 16, 8)
    target = torch.randn(T, 16, 3)
    fc.step_mode = "m"
    optimizer = torch.optim.SGD(fc.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = F.mse_loss(fc(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert not torch.equal(fc.gain, torch.ones(3, 1))


def test_reset_parameters_restores_gain():
    conv = WSConv2d(2, 3, 3)
    with torch.no_grad():
        conv.gain.fill_(3.0)
    conv.reset_parameters()
    assert torch.equal(conv.gain, torch.ones(3, 1, 1, 1))


def test_unbatched_single_step_input():
    conv = WSConv2d(2, 3, 3)
    x = torch.randn(2, 5, 5)
    assert_close(conv(x), conv(x.unsqueeze(0))[0], "unbatched WSConv2d")


@pytest.mark.parametrize(
    ("module", "bad_shape", "pattern"),
    [
        (WSConv2d(2, 3, 3, step_mode="m"), (2, 2, 5, 5), r"WSConv2d \(step_mode='m'\) expects input \[T, N, C, H, W\]"),
        (WSConv2d(2, 3, 3), (3, 2, 2, 5, 5), r"WSConv2d \(step_mode='s'\) expects input \[N, C, H, W\] or \[C, H, W\]"),
        (WSConv2d(2, 3, 3), (2, 4, 5, 5), r"WSConv2d .*C=2 \(in_channels\), got shape \(2, 4, 5, 5\)"),
        (WSLinear(4, 2, step_mode="m"), (2, 4), r"WSLinear \(step_mode='m'\) expects input \[T, N, \*, in_features\]"),
        (WSLinear(4, 2), (2, 3), r"WSLinear .*in_features=4, got shape \(2, 3\)"),
    ],
    ids=["conv-m-rank", "conv-s-rank", "conv-channels", "linear-m-rank", "linear-features"],
)
def test_bad_input_names_layer_and_layout(module, bad_shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        module(torch.randn(bad_shape))


@pytest.mark.parametrize("eps", [-1e-3, math.nan, "0.1"])
def test_bad_eps_raises(eps):
    with pytest.raises(ValueError, match="WSLinear: eps"):
        WSLinear(4, 2, eps=eps)


def test_single_weight_per_unit_raises():
    with pytest.raises(ValueError, match=r"WSConv2d: .*fan_in=1"):
        WSConv2d(2, 2, 1, groups=2)
    with pytest.raises(ValueError, match=r"WSLinear: .*fan_in=1"):
        WSLinear(1, 3)


def test_ws_layers_are_layer_conv2d_and_layer_linear():
    conv, linear = WSConv2d(3, 4, 3), WSLinear(5, 2)
    assert isinstance(conv, layer.Conv2d) and isinstance(conv, nn.Conv2d)
    assert isinstance(linear, layer.Linear) and isinstance(linear, nn.Linear)
    assert list(conv.state_dict()) == ["weight", "bias", "gain"]
    assert list(linear.state_dict()) == ["weight", "bias", "gain"]


def test_weight_initialisation_written_for_layer_conv2d_reaches_ws_layers():
    net = nn.Sequential(WSConv2d(3, 4, 3), layer.Conv2d(4, 4, 3), layer.Flatten(), WSLinear(4, 2))
    for module in net.modules():  # the usual loop of ported model code
        if isinstance(module, (layer.Conv2d, layer.Linear)):
            nn.init.constant_(module.weight, 0.25)
            nn.init.zeros_(module.bias)
    assert all(torch.all(m.weight == 0.25) for m in (net[0], net[1], net[3]))
    assert all(torch.all(m.bias == 0) for m in (net[0], net[1], net[3]))
