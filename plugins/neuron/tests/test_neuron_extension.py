"""Research extensions written the reference's way, ported by changing the import line.

Two examples: a neuron that subclasses ``neuron.BaseNode`` and overrides only
``neuronal_charge``; and a surrogate that subclasses ``surrogate.SurrogateFunctionBase``
with its own ``torch.autograd.Function``. Both must run in both step modes with the
numbers of the equations they define, forward and backward.
"""

import math

import torch
from torch import nn

from spikelayers import functional, neuron, surrogate
from spikelayers.testing import LayerCase, assert_close, parametrize_with_checks

# -- extension 1: a neuron with a learnable leak and a saturating input current ---------------


class SaturatingLeakyNode(neuron.BaseNode):
    """H[t] = V[t-1] - sigmoid(leak) (V[t-1] - V_reset) + tanh(X[t])  (research-code style)."""

    def __init__(
        self,
        init_leak: float = 0.0,
        v_threshold: float = 1.0,
        v_reset: float = 0.0,
        surrogate_function=surrogate.ATan(),  # noqa: B008 (the reference's idiom)
        detach_reset: bool = False,
        step_mode="s",
        backend="torch",
        store_v_seq: bool = False,
    ):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.leak = nn.Parameter(torch.tensor(init_leak))

    def neuronal_charge(self, x: torch.Tensor):
        v_reset = 0.0 if self.v_reset is None else self.v_reset
        self.v = self.v - torch.sigmoid(self.leak) * (self.v - v_reset) + torch.tanh(x)


def _saturating_reference(x_seq, leak, v_threshold, v_reset, alpha):
    """The same neuron written out as plain equations (ATan surrogate, hard or soft reset)."""
    v = torch.full_like(x_seq[0], 0.0 if v_reset is None else v_reset)
    spikes, potentials = [], []
    for x in x_seq:
        h = v - torch.sigmoid(leak) * (v - (0.0 if v_reset is None else v_reset)) + torch.tanh(x)
        spike = surrogate.atan.apply(h - v_threshold, alpha)
        v = h - v_threshold * spike if v_reset is None else h * (1 - spike) + v_reset * spike
        spikes.append(spike)
        potentials.append(v)
    return torch.stack(spikes), torch.stack(potentials)


def _drive(node, x_seq, mode):
    functional.set_step_mode(node, mode)
    if mode == "m":
        return node(x_seq)
    return torch.stack([node(x) for x in x_seq])


def test_custom_neuron_has_the_numbers_of_its_equations_in_both_modes():
    x = torch.randn(7, 3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1.5 + 1.0
    for v_reset in (0.0, None):
        expected_x = x.clone().requires_grad_()
        leak = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        ref_spikes, ref_v = _saturating_reference(expected_x, leak, 1.0, v_reset, 2.0)
        (ref_spikes * torch.arange(ref_spikes.numel()).reshape(ref_spikes.shape).cos()).sum().backward()
        assert ref_spikes.sum() > 5
        for mode in ("s", "m"):
            node = SaturatingLeakyNode(init_leak=0.3, v_reset=v_reset, store_v_seq=True).double()
            xi = x.clone().requires_grad_()
            spikes = _drive(node, xi, mode)
            (spikes * torch.arange(spikes.numel()).reshape(spikes.shape).cos()).sum().backward()
            label = f"SaturatingLeakyNode v_reset={v_reset} '{mode}'"
            assert_close(spikes, ref_spikes, f"{label}: spikes", rtol=1e-12)
            assert_close(node.v, ref_v[-1], f"{label}: v", rtol=1e-12)
            if mode == "m":
                assert_close(node.v_seq, ref_v, f"{label}: v_seq", rtol=1e-12)
            assert_close(xi.grad, expected_x.grad, f"{label}: input gradient", rtol=1e-10)
            assert_close(node.leak.grad, leak.grad, f"{label}: gradient of its parameter", rtol=1e-10)


def test_custom_neuron_resets_and_runs_in_a_network():
    net = nn.Sequential(nn.Linear(4, 6), SaturatingLeakyNode(), nn.Linear(6, 2), neuron.LIFNode())
    functional.set_step_mode(net, "m")
    out = net(torch.randn(5, 3, 4))
    assert out.shape == (5, 3, 2)
    assert isinstance(net[1].v, torch.Tensor)
    functional.reset_net(net)
    assert net[1].v == 0.0 and net[3].v == 0.0


@parametrize_with_checks(
    [
        # Neurons take any rank [N, *]: there is no wrong rank to refuse.
        LayerCase(lambda: SaturatingLeakyNode(-0.5), (3, 5), T=5, name="SaturatingLeakyNode", rank_checks=()),
        LayerCase(
            lambda: SaturatingLeakyNode(v_reset=None, detach_reset=True),
            (3, 5),
            T=5,
            name="SaturatingLeakyNode-soft",
            rank_checks=(),
            compile=True,
        ),
    ]
)
def test_custom_neuron_conforms(case, check):
    check(case)


class HalfLeakLIF(neuron.LIFNode):
    """A subclass of a built-in neuron that overrides its charge: H = V / 2 + X."""

    def neuronal_charge(self, x: torch.Tensor):
        self.v = self.v * 0.5 + x


def test_overriding_a_builtin_hook_never_takes_the_parents_fused_path():
    assert neuron.LIFNode.has_fused_path and not HalfLeakLIF.has_fused_path
    x = torch.tensor([[0.6], [0.6], [0.6]])
    for mode in ("s", "m"):
        node = HalfLeakLIF(tau=4.0)
        spikes = _drive(node, x, mode)
        # 0.6 -> 0.9 -> 1.05 (spike, reset to 0); the parent's maths would never fire.
        assert_close(spikes, torch.tensor([[0.0], [0.0], [1.0]]), f"HalfLeakLIF '{mode}'")
        assert node.v.item() == 0.0


class CountingIF(neuron.IFNode):
    """Overrides single_step_forward with the hooks, as research code does, to count spikes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_memory("count", 0.0)

    def single_step_forward(self, x: torch.Tensor):
        self.v_float_to_tensor(x)
        self.neuronal_charge(x)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        self.count = self.count + spike.sum()
        return spike


def test_overriding_single_step_forward_drives_multi_step_mode_too():
    x = torch.full((4, 2), 0.6)
    node = CountingIF(step_mode="m")
    spikes = node(x)
    assert_close(spikes, torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]), "CountingIF spikes")
    assert node.count.item() == 4.0


class ResonantNode(neuron.SimpleBaseNode):
    """SimpleBaseNode's route: v starts as the float 0. and v + x makes it a tensor."""

    def neuronal_charge(self, x: torch.Tensor):
        self.v = 0.8 * self.v + x


def test_simple_base_node_subclass():
    x = torch.tensor([[0.5], [0.7], [0.2]])
    for mode in ("s", "m"):
        node = ResonantNode(v_reset=-0.1)
        assert node.v == 0.0
        spikes = _drive(node, x, mode)
        # 0.5; 0.4 + 0.7 = 1.1 -> spike, v = -0.1; -0.08 + 0.2 = 0.12
        assert_close(spikes, torch.tensor([[0.0], [1.0], [0.0]]), f"ResonantNode '{mode}'")
        assert_close(node.v, torch.tensor([0.12]), f"ResonantNode '{mode}' v")


# -- extension 2: a surrogate with its own autograd function -------------------------------


class triangle(torch.autograd.Function):
    """Heaviside forward; backward (1/alpha)^2 * max(alpha - |x|, 0)."""

    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            ctx.save_for_backward(x)
            ctx.alpha = alpha
        return surrogate.heaviside(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_x = grad_output * (ctx.alpha - x.abs()).clamp(min=0) / ctx.alpha**2
        return grad_x, None


class Triangle(surrogate.SurrogateFunctionBase):
    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(alpha, spiking)

    @staticmethod
    def spiking_function(x, alpha):
        return triangle.apply(x, alpha)

    @staticmethod
    def primitive_function(x: torch.Tensor, alpha: float):
        inner = (alpha * x - x * x.abs() / 2) / alpha**2 + 0.5
        return torch.where(x > alpha, torch.ones_like(x), torch.where(x < -alpha, torch.zeros_like(x), inner))


class ScaledSigmoid(surrogate.MultiArgsSurrogateFunctionBase):
    """Two parameters: sharpness alpha and gradient scale gamma."""

    def __init__(self, alpha=4.0, gamma=0.5, spiking=True):
        super().__init__(spiking, alpha, gamma)
        self.alpha = alpha
        self.gamma = gamma

    @staticmethod
    def spiking_function(x, alpha, gamma):
        return surrogate.sigmoid.apply(x, alpha) * 1.0 if gamma == 1.0 else _scaled.apply(x, alpha, gamma)

    @staticmethod
    def primitive_function(x, alpha, gamma):
        return gamma * torch.sigmoid(alpha * x)

    def forward(self, x):
        if self.spiking:
            return self.spiking_function(x, self.alpha, self.gamma)
        return self.primitive_function(x, self.alpha, self.gamma)


class _scaled(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha, gamma):
        ctx.save_for_backward(x)
        ctx.alpha, ctx.gamma = alpha, gamma
        return surrogate.heaviside(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        sg = torch.sigmoid(ctx.alpha * x)
        return grad_output * ctx.gamma * ctx.alpha * sg * (1 - sg), None, None


def test_custom_surrogate_alone():
    x = torch.linspace(-1.5, 1.5, 31, dtype=torch.float64).add(0.013).requires_grad_()
    Triangle(0.8)(x).sum().backward()
    smooth = x.detach().clone().requires_grad_()
    Triangle(0.8, spiking=False)(smooth).sum().backward()
    assert_close(x.grad, smooth.grad, "Triangle: gradient vs autograd of its primitive", rtol=1e-12, atol=1e-12)
    assert_close(x.grad[15], torch.tensor(1 / 0.8 - 0.013 / 0.64, dtype=torch.float64), "peak", rtol=1e-12)


def _lif_with(surrogate_function, x_seq, mode):
    node = neuron.LIFNode(tau=2.0, surrogate_function=surrogate_function).double()
    xi = x_seq.clone().requires_grad_()
    spikes = _drive(node, xi, mode)
    (spikes * torch.linspace(-1, 1, spikes.numel(), dtype=xi.dtype).reshape(spikes.shape)).sum().backward()
    return spikes, xi.grad


def _lif_reference(x_seq, surrogate_function):
    x_seq = x_seq.clone().requires_grad_()
    v = torch.zeros_like(x_seq[0])
    spikes = []
    for x in x_seq:
        h = v + (x - v) / 2.0
        spike = surrogate_function(h - 1.0)
        v = h * (1 - spike)
        spikes.append(spike)
    spikes = torch.stack(spikes)
    (spikes * torch.linspace(-1, 1, spikes.numel(), dtype=x_seq.dtype).reshape(spikes.shape)).sum().backward()
    return spikes, x_seq.grad


def test_custom_surrogates_drive_a_builtin_neuron_in_both_modes():
    x = torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64) + 1.0
    for make in (lambda: Triangle(0.7), lambda: ScaledSigmoid(3.0, 0.5)):
        ref_spikes, ref_grad = _lif_reference(x, make())
        assert ref_spikes.sum() > 5 and ref_grad.abs().sum() > 0
        for mode in ("s", "m"):
            spikes, grad = _lif_with(make(), x, mode)
            name = type(make()).__name__
            assert_close(spikes, ref_spikes, f"LIFNode + {name} '{mode}': spikes")
            assert_close(grad, ref_grad, f"LIFNode + {name} '{mode}': input gradient", rtol=1e-10, atol=1e-12)
    # A different surrogate gives a different gradient: the custom backward is really used.
    _, sigmoid_grad = _lif_with(surrogate.Sigmoid(), x, "m")
    _, triangle_grad = _lif_with(Triangle(0.7), x, "m")
    assert not torch.allclose(sigmoid_grad, triangle_grad)
    assert math.isfinite(triangle_grad.sum().item())
