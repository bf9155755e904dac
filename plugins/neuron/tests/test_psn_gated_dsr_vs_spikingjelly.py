"""The PSN, gated LIF and DSR neurons against SpikingJelly's, when it is installed.

Runs only where ``spikingjelly`` is importable (a comparison environment, not CI): both
libraries get the same parameters and inputs, and outputs, final states and every
gradient must agree.
"""

import pytest
import torch

from spikelayers.testing import assert_close
from spikelayers_neuron.dsr import DSRIFNode, DSRLIFNode
from spikelayers_neuron.gated import GatedLIFNode
from spikelayers_neuron.psn import PSN, MaskedPSN, SlidingPSN

sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
sj_functional = pytest.importorskip("spikingjelly.activation_based.functional")

T = 6
CASES = {
    "PSN": (lambda: PSN(T), lambda: sj_neuron.PSN(T), (T, 3, 4), 1.0),
    "MaskedPSN": (lambda: MaskedPSN(2, T, 0.3), lambda: sj_neuron.MaskedPSN(2, T, 0.3), (T, 3, 4), 1.0),
    "MaskedPSN-band": (lambda: MaskedPSN(3, T, 1.0), lambda: sj_neuron.MaskedPSN(3, T, 1.0), (T, 3, 4), 1.0),
    "SlidingPSN": (
        lambda: SlidingPSN(3, exp_init=False),
        lambda: sj_neuron.SlidingPSN(3, exp_init=False),
        (T, 3, 4),
        1.0,
    ),
    "GatedLIFNode": (lambda: GatedLIFNode(T), lambda: sj_neuron.GatedLIFNode(T), (T, 2, 3, 2, 2), 1.0),
    "GatedLIFNode-channel-wise": (
        lambda: GatedLIFNode(T, inplane=3, init_tau=0.4),
        lambda: sj_neuron.GatedLIFNode(T, inplane=3, init_tau=0.4),
        (T, 2, 3, 2, 2),
        1.0,
    ),
    "DSRIFNode": (
        lambda: DSRIFNode(T, v_threshold=1.0),
        lambda: sj_neuron.DSRIFNode(T, v_threshold=1.0),
        (T, 3, 4),
        1.0,
    ),
    "DSRLIFNode": (lambda: DSRLIFNode(T), lambda: sj_neuron.DSRLIFNode(T), (T, 3, 4), 30.0),
}


def _pair(name):
    ours_factory, theirs_factory, shape, scale = CASES[name]
    torch.manual_seed(0)
    ours = ours_factory()
    theirs = theirs_factory()
    theirs.load_state_dict(ours.state_dict())
    ours.step_mode = theirs.step_mode = "m"
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g) * scale * 1.5 + scale * 0.6
    return ours, theirs, x


def _run(module, x, calls=2):
    x = x.clone().requires_grad_()
    outputs = [module(x) for _ in range(calls)]
    g = torch.Generator().manual_seed(2)
    sum((y * torch.randn(y.shape, generator=g)).sum() for y in outputs).backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    return outputs, x.grad, grads


@pytest.mark.parametrize("name", CASES)
def test_multi_step_matches_spikingjelly(name):
    ours, theirs, x = _pair(name)
    outs, x_grad, grads = _run(ours, x)
    ref_outs, ref_x_grad, ref_grads = _run(theirs, x)
    assert_close(outs, ref_outs, f"{name}: outputs of two calls", rtol=1e-5, atol=1e-5)
    assert_close(x_grad, ref_x_grad, f"{name}: input gradient", rtol=1e-4, atol=1e-5)
    assert grads.keys() == ref_grads.keys()
    for key in grads:
        assert_close(grads[key], ref_grads[key], f"{name}: gradient of {key}", rtol=1e-4, atol=1e-5)
    if name.startswith("GatedLIF"):
        assert_close(ours.v, theirs.v, f"{name}: final v", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["MaskedPSN-band", "SlidingPSN"])
def test_single_step_matches_spikingjelly_for_one_dim_steps(name):
    """The reference's single-step mode works for ``[N]`` steps only; there both agree."""
    ours, theirs, x = _pair(name)
    ours.step_mode = theirs.step_mode = "s"
    x = x.flatten(1)
    ours_out = torch.stack([ours(x_t) for x_t in x])
    theirs_out = torch.stack([theirs(x_t) for x_t in x])
    assert_close(ours_out, theirs_out, f"{name}: single steps", rtol=1e-5, atol=1e-5)
    sj_functional.reset_net(theirs)
    theirs.step_mode = "m"
    assert_close(ours_out, theirs(x), f"{name}: our single steps vs their multi-step", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [PSN, MaskedPSN])
def test_same_initial_weights_from_the_same_seed(cls):
    args = (T,) if cls is PSN else (2, T)
    torch.manual_seed(5)
    ours = cls(*args)
    torch.manual_seed(5)
    theirs = getattr(sj_neuron, cls.__name__)(*args)
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    torch.manual_seed(5)
    a = SlidingPSN(4, exp_init=False).weight
    torch.manual_seed(5)
    assert torch.equal(a, sj_neuron.SlidingPSN(4, exp_init=False).weight)
    assert torch.equal(SlidingPSN(5).weight, sj_neuron.SlidingPSN(5).weight)
