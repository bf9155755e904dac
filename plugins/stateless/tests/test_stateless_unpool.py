"""MaxUnpool1d/2d/3d: torch's unpooling per step, folded over time in multi-step mode."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikelayers import functional, layer
from spikelayers.base import StepModule
from spikelayers.testing import assert_close, parametrize_with_checks
from spikelayers_stateless.unpool_cases import conformance_cases

DIMS = (1, 2, 3)


@parametrize_with_checks(conformance_cases())
def test_unpool_conforms(case, check):
    check(case)


def pooled(dims, T=3, N=2, C=3, size=4, seed=0):
    x = torch.randn(T, N, C, *([size] * dims), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    values, indices = getattr(F, f"max_pool{dims}d")(x.flatten(0, 1), 2, return_indices=True)
    return values.unflatten(0, (T, N)), indices.unflatten(0, (T, N))


@pytest.mark.parametrize("dims", DIMS)
def test_class_facts(dims):
    unpool = getattr(layer, f"MaxUnpool{dims}d")(2)
    assert isinstance(unpool, getattr(nn, f"MaxUnpool{dims}d")) and isinstance(unpool, StepModule)
    assert unpool.step_mode == "s" and list(unpool.state_dict()) == [] and list(unpool.parameters()) == []
    with pytest.raises(ValueError, match=f"MaxUnpool{dims}d"):
        getattr(layer, f"MaxUnpool{dims}d")(2, step_mode="x")


@pytest.mark.parametrize("dims", DIMS)
def test_multi_step_is_torch_per_step(dims):
    values, indices = pooled(dims)
    values.requires_grad_(True)
    unpool = getattr(layer, f"MaxUnpool{dims}d")(2, step_mode="m")
    y = unpool(values, indices)
    torch_unpool = getattr(nn, f"MaxUnpool{dims}d")(2)
    expected = torch.stack([torch_unpool(v, i) for v, i in zip(values, indices)])
    assert_close(y, expected, f"MaxUnpool{dims}d 'm' vs torch per step", rtol=0, atol=0)
    weight = torch.randn_like(y)
    (grad,) = torch.autograd.grad((y * weight).sum(), values)
    assert_close(grad, torch.gather(weight.flatten(3), 3, indices.flatten(3)).view_as(values), "gradient", rtol=0)


def test_output_size_spatial_or_folded():
    unpool = layer.MaxUnpool2d(2, step_mode="m")
    assert unpool(*pooled(2, size=4)).shape == (3, 2, 3, 4, 4)
    values, indices = pooled(2, size=5)  # a 5x5 map pools to 2x2; unpooling gives 4x4 unless told 5x5
    assert unpool(values, indices, output_size=(5, 5)).shape == (3, 2, 3, 5, 5)
    assert unpool(values, indices, output_size=(6, 3, 5, 5)).shape == (3, 2, 3, 5, 5)


def test_errors_name_the_layer_and_leave_torch_errors():
    values, indices = pooled(2)
    unpool = layer.MaxUnpool2d(2, step_mode="m")
    with pytest.raises(ValueError, match=r"MaxUnpool2d.*indices"):
        unpool(values, indices[:, :1])
    with pytest.raises(ValueError, match="MaxUnpool2d"):
        unpool(values[0], indices[0])
    with pytest.raises(ValueError, match="MaxUnpool2d"):
        layer.MaxUnpool2d(2)(values, indices)  # a sequence given to a single-step layer
    with pytest.raises(RuntimeError):
        unpool(values, indices.int())  # torch: indices must be int64
    with pytest.raises(RuntimeError):
        unpool(values, indices + 100)  # torch: indices outside the output


def test_set_step_mode_switches_it():
    net = nn.Sequential(layer.MaxUnpool2d(2))
    functional.set_step_mode(net, "m")
    assert net[0].step_mode == "m"
