"""The ``fullgraph`` check: a layer compiles to one graph and gives the eager answers.

``torch.compile(layer, fullgraph=True)`` fails on the first graph break, so a layer
passes only when nothing in its forward (kernel selection, state handling, its autograd
functions' forward and backward) leaves the graph: no lock, no import, no host sync
such as ``.item()``. The check runs the whole sequence in multi-step mode and a loop of
single steps, reports the break reasons from ``torch._dynamo.explain`` when there are
any, and compares outputs and the gradients of the input and the parameters with an
eager copy.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .case import LayerCase, clone_input, output_tensors
from .compare import assert_close

RNG_SEED = 1234


@contextmanager
def _eager_random_numbers() -> Iterator[None]:
    """Make inductor draw random numbers as eager PyTorch does, so that layers that
    sample (dropout) can be compared with their eager copy."""
    import torch._inductor.config as inductor_config

    previous = inductor_config.fallback_random
    inductor_config.fallback_random = True
    try:
        yield
    finally:
        inductor_config.fallback_random = previous


def _run(layer: nn.Module, x_seq: torch.Tensor, step_mode: str) -> list[torch.Tensor]:
    """``x_seq`` ``[T, N, *]`` through ``layer`` in ``step_mode``; outputs stacked over T."""
    torch.manual_seed(RNG_SEED)
    if step_mode == "m":
        return output_tensors(layer(x_seq))
    steps = [output_tensors(layer(x)) for x in x_seq]
    return [torch.stack(parts) for parts in zip(*steps)]


def _backward(outputs: list[torch.Tensor]) -> bool:
    """Backpropagate a fixed random weighting of the float outputs; False when none has a graph."""
    terms = []
    for index, out in enumerate(outputs):
        if out.is_floating_point() and out.requires_grad:
            weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(100 + index), dtype=out.dtype)
            terms.append((out * weight.to(out.device)).sum())
    if not terms:
        return False
    torch.stack(terms).sum().backward()
    return True


def graph_breaks(layer: nn.Module, inputs: list[torch.Tensor]) -> list[str]:
    """The graph-break reasons ``torch._dynamo.explain`` reports for calling ``layer`` on
    each of ``inputs`` in turn (the layer runs, so its state advances)."""
    reasons: list[str] = []
    torch._dynamo.reset()
    explain = torch._dynamo.explain(layer)
    for x in inputs:
        explanation = explain(x)
        for reason in explanation.break_reasons:
            where = reason.user_stack[-1] if reason.user_stack else None
            place = f" at {where.filename}:{where.lineno}" if where is not None else ""
            reasons.append(f"{str(reason.reason).splitlines()[0]}{place}")
    return reasons


def check_fullgraph(case: LayerCase) -> None:
    """``torch.compile(fullgraph=True)`` with ``case.compile_backend`` gives the eager outputs
    and gradients, in every step mode of the layer, with zero graph breaks."""
    for mode in case.modes():
        eager = case.build_in_mode(mode)
        label = f"{case.name or type(eager).__name__} ({mode!r}, torch.compile fullgraph=True backend={case.compile_backend})"
        x = case.sequence()
        steps = [x.detach()] if mode == "m" else [step.detach() for step in x]
        breaks = graph_breaks(copy.deepcopy(eager), steps)
        if breaks:
            raise AssertionError(f"{label}: {len(breaks)} graph break(s): " + "; ".join(breaks))
        compiled_layer = copy.deepcopy(eager)
        torch._dynamo.reset()
        compiled = torch.compile(compiled_layer, backend=case.compile_backend, fullgraph=True)
        x_eager, x_compiled = clone_input(x), clone_input(x)
        with _eager_random_numbers():
            y_eager = _run(eager, x_eager, mode)
            y_compiled = _run(compiled, x_compiled, mode)
        assert_close(y_compiled, y_eager, f"{label}: output", rtol=case.rtol, atol=case.atol)
        if _backward(y_eager) and _backward(y_compiled):
            if x.requires_grad:
                assert_close(x_compiled.grad, x_eager.grad, f"{label}: input gradient", rtol=case.rtol, atol=case.atol)
            eager_grads = {name: p.grad for name, p in eager.named_parameters()}
            for name, parameter in compiled_layer.named_parameters():
                assert_close(
                    parameter.grad, eager_grads[name], f"{label}: gradient of {name}", rtol=case.rtol, atol=case.atol
                )
    torch._dynamo.reset()
