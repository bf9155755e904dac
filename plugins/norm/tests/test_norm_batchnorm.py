"""BatchNorm1d/2d/3d, GroupNorm and tdBN: signatures, folding, checkpoints, errors."""

import pytest
import torch
from torch import nn

from spikelayers import layer
from spikelayers.testing import assert_close, check_signature
from spikelayers_norm.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm
from spikelayers_norm.tdbn import (
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
)

TORCH_BN = {BatchNorm1d: nn.BatchNorm1d, BatchNorm2d: nn.BatchNorm2d, BatchNorm3d: nn.BatchNorm3d}
STEP_SHAPES = {BatchNorm1d: [(4, 3), (4, 3, 5)], BatchNorm2d: [(4, 3, 5, 6)], BatchNorm3d: [(4, 3, 2, 5, 6)]}


@pytest.mark.parametrize(
    "cls",
    [
        BatchNorm1d,
        BatchNorm2d,
        BatchNorm3d,
        GroupNorm,
        ThresholdDependentBatchNorm1d,
        ThresholdDependentBatchNorm2d,
        ThresholdDependentBatchNorm3d,
    ],
)
def test_signature_matches_reference(cls):
    check_signature(cls)


def test_registry_resolves_the_classes():
    assert layer.BatchNorm2d is BatchNorm2d
    assert layer.GroupNorm is GroupNorm
    assert layer.ThresholdDependentBatchNorm2d is ThresholdDependentBatchNorm2d


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d, BatchNorm3d])
def test_batch_norm_is_the_torch_layer_and_loads_its_checkpoint(cls):
    torch_bn = TORCH_BN[cls](3)
    with torch.no_grad():
        torch_bn.weight.uniform_()
        torch_bn.bias.normal_()
    torch_bn(torch.randn(STEP_SHAPES[cls][0]) * 2 + 1)
    ours = cls(3)
    assert isinstance(ours, TORCH_BN[cls])
    ours.load_state_dict(torch_bn.state_dict())
    for key, value in torch_bn.state_dict().items():
        assert_close(ours.state_dict()[key], value, key)


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d, BatchNorm3d])
@pytest.mark.parametrize("train", [True, False])
def test_multi_step_folds_time_into_the_batch(cls, train):
    for step_shape in STEP_SHAPES[cls]:
        torch.manual_seed(0)
        torch_bn = TORCH_BN[cls](3).train(train)
        ours = cls(3, step_mode="m").train(train)
        ours.load_state_dict(torch_bn.state_dict())
        x = torch.randn(3, *step_shape) * 2 + 0.5
        y = ours(x)
        expected = torch_bn(x.reshape(-1, *step_shape[1:])).reshape(x.shape)
        assert y.shape == x.shape
        assert_close(y, expected, "folded output")
        assert_close(ours.running_mean, torch_bn.running_mean, "running mean")
        assert_close(ours.running_var, torch_bn.running_var, "running var")


def test_single_step_is_the_torch_layer():
    torch_bn = nn.BatchNorm2d(3)
    ours = BatchNorm2d(3)
    x = torch.randn(4, 3, 5, 5)
    assert_close(ours(x), torch_bn(x), "single step")


def test_group_norm_per_sample_in_both_modes():
    gn = GroupNorm(2, 4, step_mode="m")
    torch_gn = nn.GroupNorm(2, 4)
    torch_gn.load_state_dict(gn.state_dict())
    x = torch.randn(3, 2, 4, 5)
    assert_close(gn(x), torch.stack([torch_gn(step) for step in x]), "group norm")
    assert isinstance(gn, nn.GroupNorm)


@pytest.mark.parametrize(
    ("module", "bad_shape", "layout"),
    [
        (BatchNorm2d(3, step_mode="m"), (4, 3, 5, 5), "[T, N, C, H, W]"),
        (BatchNorm2d(3), (2, 4, 3, 5, 5), "[N, C, H, W]"),
        (BatchNorm1d(3, step_mode="m"), (4, 3), "[T, N, C] or [T, N, C, L]"),
        (BatchNorm3d(3, step_mode="m"), (2, 4, 3, 5, 5), "[T, N, C, D, H, W]"),
        (GroupNorm(1, 3, step_mode="m"), (4, 3), "[T, N, C, *]"),
    ],
)
def test_wrong_rank_names_the_layer_and_layout(module, bad_shape, layout):
    with pytest.raises(ValueError) as error:
        module(torch.randn(bad_shape))
    assert type(module).__name__ in str(error.value)
    assert layout in str(error.value)


def test_wrong_channel_count_is_reported():
    with pytest.raises(ValueError, match=r"BatchNorm2d.*C=3"):
        BatchNorm2d(3, step_mode="m")(torch.randn(2, 4, 5, 5, 5))


@pytest.mark.parametrize(
    ("cls", "torch_cls", "step_shape"),
    [
        (ThresholdDependentBatchNorm1d, nn.BatchNorm1d, (4, 3, 5)),
        (ThresholdDependentBatchNorm2d, nn.BatchNorm2d, (4, 3, 5, 6)),
        (ThresholdDependentBatchNorm3d, nn.BatchNorm3d, (4, 3, 2, 5, 6)),
    ],
)
def test_tdbn_normalises_over_time_and_batch(cls, torch_cls, step_shape):
    tdbn = cls(0.5, 2.0, 3, eps=1e-3, momentum=0.2)
    assert isinstance(tdbn, torch_cls)
    assert tdbn.step_mode == "m"
    assert_close(tdbn.weight, torch.full((3,), 1.0), "initial weight alpha * v_th")
    assert_close(tdbn.bias, torch.zeros(3), "initial bias")
    assert tdbn.eps == 1e-3 and tdbn.momentum == 0.2
    x = torch.randn(3, *step_shape) * 1.5 + 0.3
    y = tdbn(x)
    dims = [d for d in range(x.dim()) if d != 2]
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, unbiased=False)
    assert_close(y, (x - mean) / torch.sqrt(var + 1e-3), "normalised over T and N")


def test_tdbn_rejects_single_step_mode_and_no_affine():
    tdbn = ThresholdDependentBatchNorm2d(1.0, 1.0, 3)
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d.*multi-step"):
        tdbn.step_mode = "s"
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d.*affine"):
        ThresholdDependentBatchNorm2d(1.0, 1.0, 3, affine=False)
    with pytest.raises(ValueError, match=r"ThresholdDependentBatchNorm2d.*\[T, N, C, H, W\]"):
        tdbn(torch.randn(4, 3, 5, 5))


def test_tdbn_loads_a_torch_checkpoint():
    torch_bn = nn.BatchNorm2d(3)
    torch_bn(torch.randn(4, 3, 5, 5))
    tdbn = ThresholdDependentBatchNorm2d(1.0, 1.0, 3)
    tdbn.load_state_dict(torch_bn.state_dict())
    assert_close(tdbn.running_mean, torch_bn.running_mean, "running mean")
