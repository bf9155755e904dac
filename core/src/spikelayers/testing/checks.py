"""The conformance checks. Each takes a :class:`LayerCase` and raises ``AssertionError``
(with a message naming the layer and what differed) when the layer breaks the protocol.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..base import MemoryModule, StepModule
from ..functional import reset_net, set_step_mode
from .case import LayerCase, clone_input, output_tensors
from .compare import assert_close
from .compile import check_fullgraph
from .running import RNG_SEED, run_sequence, snapshot_memories
from .sequence_checks import check_dtype_change, check_empty_sequence

# -- helpers ------------------------------------------------------------------------


def weighted_loss(outputs: list[torch.Tensor]) -> torch.Tensor | None:
    """A scalar with a different, fixed weight on every output element (or None)."""
    total: torch.Tensor | None = None
    for index, out in enumerate(outputs):
        if not out.is_floating_point() or not out.requires_grad:
            continue
        generator = torch.Generator().manual_seed(100 + index)
        weight = torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)
        term = (out * weight).sum()
        total = term if total is None else total + term
    return total


def _grads(layer: nn.Module) -> dict[str, torch.Tensor | None]:
    return {name: p.grad for name, p in layer.named_parameters()}


def _name(case: LayerCase, layer: nn.Module) -> str:
    return case.name or type(layer).__name__


def _compare_memories(actual: dict[str, Any], expected: dict[str, Any], what: str, case: LayerCase) -> None:
    if actual.keys() != expected.keys():
        raise AssertionError(f"{what}: memories differ: {sorted(actual)} vs {sorted(expected)}")
    for key in expected:
        assert_close(actual[key], expected[key], f"{what}: memory {key!r}", rtol=case.rtol, atol=case.atol)


def _backward(outputs: list[torch.Tensor]) -> bool:
    loss = weighted_loss(outputs)
    if loss is None:
        return False
    loss.backward()
    return True


# -- the checks ---------------------------------------------------------------------


def check_step_mode_validation(case: LayerCase) -> None:
    """Setting an unknown or unsupported step mode raises ``ValueError`` naming the layer."""
    layer = case.build()
    name = type(layer).__name__
    supported = layer.supported_step_mode()
    for bad in ["x", *[m for m in ("s", "m") if m not in supported]]:
        try:
            layer.step_mode = bad
        except ValueError as error:
            if name not in str(error):
                raise AssertionError(
                    f"{_name(case, layer)}: the error for step_mode={bad!r} does not name the layer: {error}"
                ) from None
        else:
            raise AssertionError(f"{_name(case, layer)}: step_mode={bad!r} was accepted; supported: {supported}")


def check_multi_step_matches_single_step(case: LayerCase) -> None:
    """Multi-step mode gives the outputs, final state and gradients of a loop of single steps."""
    multi = case.build_in_mode("m")
    single = copy.deepcopy(multi)
    set_step_mode(single, "s")
    x = case.sequence()
    x_multi, x_single = clone_input(x), clone_input(x)
    y_multi = run_sequence(multi, x_multi, "m")
    y_single = run_sequence(single, x_single, "s")
    label = _name(case, multi)
    assert_close(y_multi, y_single, f"{label}: 'm' output vs loop of 's'", rtol=case.rtol, atol=case.atol)
    _compare_memories(snapshot_memories(multi), snapshot_memories(single), f"{label}: final state 'm' vs 's'", case)
    if _backward(y_multi) and _backward(y_single):
        if x.requires_grad:
            assert_close(
                x_multi.grad, x_single.grad, f"{label}: input gradient 'm' vs 's'", rtol=case.rtol, atol=case.atol
            )
        for (name, g_multi), g_single in zip(_grads(multi).items(), _grads(single).values()):
            assert_close(g_multi, g_single, f"{label}: gradient of {name} 'm' vs 's'", rtol=case.rtol, atol=case.atol)


def check_chunked_sequence(case: LayerCase) -> None:
    """A sequence fed as two multi-step calls equals one call (outputs, state, gradients)."""
    whole = case.build_in_mode("m")
    chunked = copy.deepcopy(whole)
    x = case.sequence()
    x_whole, x_chunked = clone_input(x), clone_input(x)
    label = _name(case, whole)
    y_whole = run_sequence(whole, x_whole, "m")
    split = case.T // 2
    torch.manual_seed(RNG_SEED)
    first = output_tensors(chunked(x_chunked[:split]))
    second = output_tensors(chunked(x_chunked[split:]))
    y_chunked = [torch.cat(parts) for parts in zip(first, second)]
    assert_close(y_chunked, y_whole, f"{label}: two chunks vs one call", rtol=case.rtol, atol=case.atol)
    _compare_memories(
        snapshot_memories(chunked), snapshot_memories(whole), f"{label}: final state, chunks vs one call", case
    )
    if _backward(y_whole) and _backward(y_chunked):
        if x.requires_grad:
            assert_close(
                x_chunked.grad,
                x_whole.grad,
                f"{label}: input gradient, chunks vs one call",
                rtol=case.rtol,
                atol=case.atol,
            )
        for (name, g_chunked), g_whole in zip(_grads(chunked).items(), _grads(whole).values()):
            assert_close(
                g_chunked, g_whole, f"{label}: gradient of {name}, chunks vs one call", rtol=case.rtol, atol=case.atol
            )


def check_reset_restores_initial_state(case: LayerCase) -> None:
    """``reset_net`` returns every memory to its initial value; a rerun repeats the outputs."""
    for mode in case.modes():
        layer = case.build_in_mode(mode)
        label = f"{_name(case, layer)} ({mode!r})"
        initial = snapshot_memories(layer)
        x = case.sequence()
        first = run_sequence(layer, x, mode)
        reset_net(layer)
        after_reset = snapshot_memories(layer)
        _compare_memories(after_reset, initial, f"{label}: state after reset vs initial", case)
        for module in layer.modules():
            if isinstance(module, MemoryModule):
                for name, value in module.named_memories():
                    if isinstance(value, torch.Tensor) and value.grad_fn is not None:
                        raise AssertionError(f"{label}: memory {name!r} keeps an autograd graph after reset")
        again = run_sequence(layer, x, mode)
        assert_close(again, first, f"{label}: output after reset vs first run", rtol=case.rtol, atol=case.atol)


def check_state_dict_round_trip(case: LayerCase) -> None:
    """Memories stay out of ``state_dict``; a checkpoint loads into a fresh layer, which
    then computes the same outputs."""
    for mode in case.modes():
        layer = case.build_in_mode(mode)
        label = f"{_name(case, layer)} ({mode!r})"
        keys_before = list(layer.state_dict())
        x = case.sequence()
        with torch.no_grad():
            run_sequence(layer, x, mode)
        keys_after = list(layer.state_dict())
        if keys_before != keys_after:
            raise AssertionError(f"{label}: state_dict keys changed after a forward: {keys_before} -> {keys_after}")
        memory_names = {key.rsplit(".", 1)[-1] for key in snapshot_memories(layer)}
        leaked = [key for key in keys_after if key.rsplit(".", 1)[-1] in memory_names]
        if leaked:
            raise AssertionError(f"{label}: memories leaked into state_dict: {leaked}")
        fresh = case.build_in_mode(mode, seed=case.seed + 1)
        fresh.load_state_dict(layer.state_dict())
        reset_net(layer)
        with torch.no_grad():
            expected = run_sequence(layer, x, mode)
            actual = run_sequence(fresh, x, mode)
        assert_close(
            actual, expected, f"{label}: output of a layer loaded from state_dict", rtol=case.rtol, atol=case.atol
        )


def check_copy_and_pickle_mid_sequence(case: LayerCase) -> None:
    """``deepcopy`` and ``pickle`` taken mid-sequence continue exactly like the original."""
    for mode in case.modes():
        layer = case.build_in_mode(mode)
        label = f"{_name(case, layer)} ({mode!r})"
        x = case.sequence()
        # A multi-step layer with a fixed T only takes whole sequences: copy it between two.
        split = case.T if mode == "m" and not case.chunkable else case.T // 2
        run_sequence(layer, x[:split], mode)
        rest = x[split:] if split < case.T else x
        copies = {"deepcopy": copy.deepcopy(layer)}
        if case.picklable:
            copies["pickle"] = pickle.loads(pickle.dumps(layer))
        expected_state = snapshot_memories(layer)
        expected = run_sequence(layer, rest.detach(), mode)
        for how, clone in copies.items():
            actual = run_sequence(clone, rest.detach(), mode)
            assert_close(actual, expected, f"{label}: {how} taken mid-sequence, output", rtol=case.rtol, atol=case.atol)
        fresh_copy = copy.deepcopy(case.build_in_mode(mode))
        run_sequence(fresh_copy, x[:split], mode)
        _compare_memories(snapshot_memories(fresh_copy), expected_state, f"{label}: deepcopy of a fresh layer", case)


def check_gradients_flow(case: LayerCase) -> None:
    """Backward reaches the input and every trainable parameter, with finite values."""
    for mode in case.modes():
        layer = case.build_in_mode(mode)
        label = f"{_name(case, layer)} ({mode!r})"
        x = case.sequence()
        outputs = run_sequence(layer, x, mode)
        if not _backward(outputs):
            raise AssertionError(f"{label}: the output does not require grad; nothing to train")
        if x.requires_grad:
            if x.grad is None:
                raise AssertionError(f"{label}: no gradient reached the input")
            if not torch.isfinite(x.grad).all():
                raise AssertionError(f"{label}: the input gradient is not finite")
        for name, param in layer.named_parameters():
            if not param.requires_grad:
                continue
            if param.grad is None:
                raise AssertionError(f"{label}: no gradient reached parameter {name!r}")
            if not torch.isfinite(param.grad).all():
                raise AssertionError(f"{label}: the gradient of {name!r} is not finite")


def check_bad_input_rank(case: LayerCase) -> None:
    """An input of the wrong rank raises an error that names the layer.

    In ``'m'`` the input lacks its time dimension; in ``'s'`` it has an extra one.
    """
    for mode in case.modes():
        if mode not in case.rank_checks:
            continue
        layer = case.build_in_mode(mode)
        x = case.sequence().detach()
        bad = x[0] if mode == "m" else x.unsqueeze(0)
        name = type(layer).__name__
        try:
            with torch.no_grad():
                layer(bad)
        except (ValueError, TypeError, RuntimeError) as error:
            if name not in str(error):
                raise AssertionError(
                    f"{name} ({mode!r}): the error for an input of shape {tuple(bad.shape)} "
                    f"does not name the layer: {type(error).__name__}: {error}"
                ) from None
        else:
            raise AssertionError(f"{name} ({mode!r}): an input of shape {tuple(bad.shape)} was accepted")


def check_compile(case: LayerCase) -> None:
    """``torch.compile`` gives the eager outputs and gradients in multi-step mode."""
    mode = "m" if "m" in case.modes() else "s"
    eager = case.build_in_mode(mode)
    compiled_layer = copy.deepcopy(eager)
    label = f"{_name(case, eager)} ({mode!r}, torch.compile backend={case.compile_backend})"
    torch._dynamo.reset()
    compiled = torch.compile(compiled_layer, backend=case.compile_backend)
    x = case.sequence()
    x_eager, x_compiled = clone_input(x), clone_input(x)
    y_eager = run_sequence(eager, x_eager, mode)
    y_compiled = run_sequence(compiled, x_compiled, mode)
    assert_close(y_compiled, y_eager, f"{label}: output", rtol=case.rtol, atol=case.atol)
    if _backward(y_eager) and _backward(y_compiled):
        if x.requires_grad:
            assert_close(x_compiled.grad, x_eager.grad, f"{label}: input gradient", rtol=case.rtol, atol=case.atol)
        for (name, g_compiled), g_eager in zip(_grads(compiled_layer).items(), _grads(eager).values()):
            assert_close(g_compiled, g_eager, f"{label}: gradient of {name}", rtol=case.rtol, atol=case.atol)


# -- which checks apply -------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A check and the condition under which it applies to a case."""

    function: Callable[[LayerCase], None]
    applies: Callable[[LayerCase], bool]

    @property
    def name(self) -> str:
        return self.function.__name__.removeprefix("check_")


def _is_step_module(case: LayerCase) -> bool:
    return isinstance(case.build(), StepModule)


def _both_modes(case: LayerCase) -> bool:
    return {"s", "m"} <= set(case.modes())


def _chunkable(case: LayerCase) -> bool:
    return "m" in case.modes() and case.chunkable


CHECKS: tuple[Check, ...] = (
    Check(check_step_mode_validation, _is_step_module),
    Check(check_multi_step_matches_single_step, _both_modes),
    Check(check_chunked_sequence, _chunkable),
    Check(check_reset_restores_initial_state, lambda case: True),
    Check(check_state_dict_round_trip, lambda case: True),
    Check(check_copy_and_pickle_mid_sequence, lambda case: True),
    Check(
        check_gradients_flow,
        lambda case: case.input_requires_grad or any(p.requires_grad for p in case.build().parameters()),
    ),
    Check(check_bad_input_rank, lambda case: bool(set(case.rank_checks) & set(case.modes()))),
    Check(check_compile, lambda case: case.compile),
    Check(check_fullgraph, lambda case: case.fullgraph),
)
CHECKS += (
    Check(check_empty_sequence, lambda case: "m" in case.modes()),
    Check(check_dtype_change, lambda case: case.dtype in (torch.float32, torch.float16, torch.bfloat16)),
)


def checks_for(case: LayerCase) -> list[Check]:
    """The checks that apply to ``case``."""
    return [check for check in CHECKS if check.applies(case)]


def check_layer(case: LayerCase) -> list[str]:
    """Run every applicable check on ``case``; return their names. Raises on the first failure."""
    ran = []
    for check in checks_for(case):
        check.function(case)
        ran.append(check.name)
    return ran


def parametrize_with_checks(cases: Iterable[LayerCase]) -> Any:
    """A ``pytest.mark.parametrize`` over ``(case, check)`` for every applicable check.

    Use it on a test that calls ``check(case)``::

        @parametrize_with_checks([LayerCase(lambda: MyLayer(), (2, 3))])
        def test_conformance(case, check):
            check(case)
    """
    import pytest

    params = []
    for case in cases:
        for check in checks_for(case):
            marks = (pytest.mark.slow,) if check.function in (check_compile, check_fullgraph) else ()
            params.append(pytest.param(case, check.function, id=f"{case.id}-{check.name}", marks=marks))
    return pytest.mark.parametrize(("case", "check"), params)
