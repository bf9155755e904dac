"""Explicit state: functional.memories, load_memories and stateless_forward."""

import pytest
import torch
from torch import nn

from spikelayers import functional
from spikelayers.base import MemoryModule
from spikelayers.testing import assert_close


class Leaky(MemoryModule):
    """``v = decay * v + x``; output ``v * weight``. Memory ``v`` starts at ``rest``."""

    def __init__(self, features: int, decay: float = 0.5, rest: float = 0.0) -> None:
        super().__init__()
        self.decay = decay
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, features))
        self.register_memory("v", rest)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.v = self.decay * self.memory_like("v", x) + x
        return self.v * self.weight

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        v = self.memory_like("v", x_seq[0])
        outputs = []
        for x in x_seq:
            v = self.decay * v + x
            outputs.append(v * self.weight)
        self.v = v
        return torch.stack(outputs)


class Trace(MemoryModule):
    """Two memories: a running sum and the last input."""

    def __init__(self) -> None:
        super().__init__()
        self.register_memory("total", 0.0)
        self.register_memory("last", None)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.total = self.memory_like("total", x) + x
        self.last = x
        return self.total


def network() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(Leaky(3, rest=0.25), nn.Linear(3, 3), nn.Sequential(Trace(), Leaky(3, decay=0.8)))


def test_memories_are_named_like_state_dict_in_module_order():
    net = network()
    assert list(functional.memories(net)) == ["0.v", "2.0.total", "2.0.last", "2.1.v"]
    assert functional.memories(net) == {"0.v": 0.25, "2.0.total": 0.0, "2.0.last": None, "2.1.v": 0.0}
    net(torch.ones(2, 3))
    found = functional.memories(net)
    assert found["0.v"] is net[0].v and found["0.v"].shape == (2, 3)


def test_memories_of_a_memory_module_itself_have_no_prefix():
    assert list(functional.memories(Leaky(2))) == ["v"]


def test_load_memories_sets_memories_and_keeps_the_rest():
    net = network()
    net(torch.ones(2, 3))
    before = net[2][1].v
    functional.load_memories(net, {"0.v": torch.full((2, 3), 7.0)})
    assert torch.equal(net[0].v, torch.full((2, 3), 7.0))
    assert net[2][1].v is before


def test_load_memories_into_a_fresh_network_takes_any_shape():
    net = network()
    functional.load_memories(net, {"0.v": torch.ones(5, 3)})
    assert net(torch.zeros(5, 3)).shape == (5, 3)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            torch.ones(4, 3),
            ValueError,
            "expected a tensor of shape (2, 3) and dtype float32, got a tensor of shape (4, 3)",
        ),
        (torch.ones(2, 3, dtype=torch.float64), ValueError, "got a tensor of shape (2, 3) and dtype float64"),
        (1.0, TypeError, "expected a tensor of shape (2, 3)"),
        ("zero", TypeError, "expected a tensor, a number or None, got str"),
    ],
)
def test_load_memories_checks_each_value_and_names_the_module(value, error, message):
    net = network()
    net(torch.ones(2, 3))
    before = functional.memories(net)
    with pytest.raises(error) as raised:
        functional.load_memories(net, {"0.v": torch.zeros(2, 3), "2.1.v": value})
    assert "Leaky '2.1', memory 'v'" in str(raised.value)
    assert message in str(raised.value)
    assert functional.memories(net) == before  # nothing was set, not even the valid first entry


def test_load_memories_rejects_unknown_names_with_close_matches():
    net = network()
    with pytest.raises(KeyError, match=r"no memory named '2.1.vv' \(did you mean '2.1.v'\?\)"):
        functional.load_memories(net, {"2.1.vv": torch.zeros(1)})


def test_stateless_forward_equals_the_stateful_call_and_leaves_the_modules_alone():
    net = network()
    stateful = network()
    x = torch.randn(4, 2, 3)
    state = functional.memories(net)
    for x_t in x:
        y, state = functional.stateless_forward(net, x_t, state)
        assert_close(y, stateful(x_t), "output")
    assert functional.memories(net) == {"0.v": 0.25, "2.0.total": 0.0, "2.0.last": None, "2.1.v": 0.0}
    for name, value in functional.memories(stateful).items():
        assert_close(state[name], value, name)
    assert list(state) == list(functional.memories(stateful))


def test_stateless_forward_in_multi_step_mode_continues_a_sequence():
    net = network()
    functional.set_step_mode(net, "m")
    x = torch.randn(6, 2, 3)
    whole, _ = functional.stateless_forward(net[0], x, {})
    first, state = functional.stateless_forward(net[0], x[:2], {})
    second, state = functional.stateless_forward(net[0], x[2:], state)
    assert_close(torch.cat([first, second]), whole, "two chunks vs one")
    assert net[0].v == 0.25


def test_stateless_forward_restores_the_memories_when_the_network_raises():
    net = network()
    net(torch.ones(2, 3))
    before = functional.memories(net)
    with pytest.raises(RuntimeError):
        functional.stateless_forward(net, torch.ones(2, 4), {"0.v": torch.zeros(2, 4)})
    assert functional.memories(net) == before


def test_stateless_forward_takes_parameters_by_name():
    net = Leaky(3)
    params = {"weight": torch.zeros(3)}
    y, _ = functional.stateless_forward(net, torch.ones(1, 3), {}, params)
    assert torch.equal(y, torch.zeros(1, 3))
    assert torch.equal(net.weight.detach(), torch.linspace(0.5, 1.5, 3))


def test_stateless_forward_rejects_unknown_memory_names():
    with pytest.raises(KeyError, match="stateless_forward: Leaky has no memory named 'u'"):
        functional.stateless_forward(Leaky(3), torch.ones(1, 3), {"u": 0.0})


def test_stateless_forward_composes_with_vmap_over_independent_states():
    net = Leaky(3)
    x = torch.randn(5, 2, 3)  # five independent streams
    v = torch.randn(5, 2, 3)

    def step(x_b, v_b):
        y, new = functional.stateless_forward(net, x_b, {"v": v_b})
        return y, new["v"]

    y, v_next = torch.func.vmap(step)(x, v)
    for b in range(5):
        expected, state = functional.stateless_forward(net, x[b], {"v": v[b]})
        assert_close(y[b], expected, f"stream {b}")
        assert_close(v_next[b], state["v"], f"state of stream {b}")


def test_stateless_forward_gives_per_sample_gradients_with_grad_and_vmap():
    net = Leaky(3)
    functional.set_step_mode(net, "m")
    params = {"weight": net.weight.detach()}
    x = torch.randn(4, 6, 3)  # [T, N, C]

    def loss(p, x_seq):  # one sample: [T, C] -> a batch of one
        y, _ = functional.stateless_forward(net, x_seq.unsqueeze(1), {}, p)
        return y.pow(2).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 1))(params, x)["weight"]
    assert per_sample.shape == (6, 3)
    for n in range(6):
        weight = net.weight.detach().clone().requires_grad_(True)
        y, _ = functional.stateless_forward(net, x[:, n : n + 1], {}, {"weight": weight})
        y.pow(2).sum().backward()
        assert_close(per_sample[n], weight.grad, f"gradient of sample {n}")


def test_stateless_forward_compiles_with_fullgraph():
    net = network()
    x = torch.randn(3, 2, 3)

    def run(x_seq, state):
        outputs = []
        for x_t in x_seq:
            y, state = functional.stateless_forward(net, x_t, state)
            outputs.append(y)
        return torch.stack(outputs), state

    start = {"0.v": torch.full((2, 3), 0.25), "2.0.total": torch.zeros(2, 3), "2.1.v": torch.zeros(2, 3)}
    torch._dynamo.reset()
    compiled = torch.compile(run, fullgraph=True, backend="aot_eager")
    y, state = compiled(x, dict(start))
    y_eager, state_eager = run(x, dict(start))
    assert_close(y, y_eager, "compiled output")
    for name in state_eager:
        assert_close(state[name], state_eager[name], f"compiled state {name}")
    assert functional.memories(net)["0.v"] == 0.25
