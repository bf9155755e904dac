"""Functions over whole networks and sequences.

Shapes: ``T`` time steps, ``N`` batch, ``*`` any feature dims.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from .base import MemoryModule, StepModule
from .batch_statistics import batch_norm
from .empty import empty_sequence_output
from .explicit_state import load_memories, memories, stateless_forward
from .handlers import StatefulHandler, handler_for
from .handlers import stateful_handlers as stateful_handlers  # its home is spikelayers.handlers
from .shapes import fold, unfold
from .validators import non_negative_int

__all__ = [
    "StatefulHandler",
    "delay",
    "detach_net",
    "load_memories",
    "memories",
    "multi_step_forward",
    "reset_net",
    "seq_to_ann_forward",
    "set_backend",
    "set_step_mode",
    "stateless_forward",
]


def reset_net(net: nn.Module) -> None:
    """Reset every memory of ``net`` and its submodules to its initial value.

    Modules that are not :class:`MemoryModule` but are known to a plugin's stateful
    handler are reset by that handler; so are modules with their own ``reset()`` that
    a handler claims.
    """
    for module in net.modules():
        if isinstance(module, MemoryModule):
            module.reset()
        else:
            handler = handler_for(module)
            if handler is not None:
                handler.reset(module)


def detach_net(net: nn.Module) -> None:
    """Detach every memory of ``net`` from the autograd graph (truncated BPTT)."""
    for module in net.modules():
        if isinstance(module, MemoryModule):
            module.detach()
        else:
            handler = handler_for(module)
            if handler is not None and handler.detach is not None:
                handler.detach(module)


def _walk_step_modules(net: nn.Module) -> Iterator[nn.Module]:
    """Yield modules in depth-first order, not descending into step-mode keepers."""
    stack = [net]
    while stack:
        module = stack.pop()
        yield module
        if getattr(module, "keeps_child_step_mode", False):
            continue
        stack.extend(reversed(list(module.children())))


def set_step_mode(net: nn.Module, step_mode: str) -> None:
    """Set ``step_mode`` on ``net`` and every step module below it.

    A module whose ``keeps_child_step_mode`` is true (the containers that drive their
    children step by step) gets the mode itself, but its children keep theirs. Runs in
    time linear in the number of modules.

    Atomic: if any step module does not support ``step_mode``, raises ``ValueError``
    naming it (and its path in ``net``) before any module is changed.
    """
    targets = [module for module in _walk_step_modules(net) if isinstance(module, StepModule)]
    for module in targets:
        supported = module.supported_step_mode()
        if step_mode not in supported:
            path = next((name for name, m in net.named_modules() if m is module), "")
            where = f" (at {path!r})" if path else ""
            raise ValueError(
                f"set_step_mode: {type(module).__name__}{where} supports step_mode {supported}, "
                f"not {step_mode!r}; no module was changed"
            )
    for module in targets:
        module.step_mode = step_mode


def set_backend(net: nn.Module, backend: str, instance: type | tuple[type, ...] = MemoryModule) -> None:
    """Set ``backend`` on every module of type ``instance`` in ``net`` that supports it
    (``'auto'`` on every module that has backends: the kernel registry picks per call).

    Raises ``ValueError`` if no such module supports ``backend``.
    """
    matched = 0
    for module in net.modules():
        supported = getattr(module, "supported_backends", ())
        if isinstance(module, instance) and (backend in supported or (backend == "auto" and supported)):
            module.backend = backend
            matched += 1
    if matched == 0:
        raise ValueError(f"set_backend: no module of {net.__class__.__name__} supports backend {backend!r}")


def multi_step_forward(
    x_seq: torch.Tensor, single_step_module: nn.Module | list[nn.Module] | tuple[nn.Module, ...]
) -> torch.Tensor:
    """Run single-step module(s) over time: ``[T, N, *] -> [T, N, *']``.

    An empty sequence (``T = 0``) gives ``[0, N, *']`` without running the modules.
    """
    modules = single_step_module if isinstance(single_step_module, (list, tuple)) else (single_step_module,)
    if x_seq.shape[0] == 0:
        return empty_sequence_output(x_seq, modules)
    outputs = []
    for x in x_seq:
        for module in modules:
            x = module(x)
        outputs.append(x)
    return torch.stack(outputs)


def seq_to_ann_forward(
    x_seq: torch.Tensor, stateless_module: nn.Module | list[nn.Module] | tuple[nn.Module, ...]
) -> torch.Tensor:
    """Fold time into the batch, apply stateless module(s) once, unfold.

    ``[T, N, *] -> [T * N, *] -> [T, N, *']``. An empty sequence (``T = 0``) gives
    ``[0, N, *']`` without running the modules. A plain torch batch norm among them (no
    hooks) runs through :func:`spikelayers.batch_statistics.batch_norm`: its own results,
    faster in training on large CPU activations.
    """
    if x_seq.dim() < 2:
        raise ValueError(f"seq_to_ann_forward expects an input [T, N, *], got shape {tuple(x_seq.shape)}")
    modules = stateless_module if isinstance(stateless_module, (list, tuple)) else (stateless_module,)
    if x_seq.shape[0] == 0:
        return empty_sequence_output(x_seq, modules)
    y = fold(x_seq)
    for module in modules:
        y = batch_norm(y, module)  # a torch batch norm takes the faster batch statistics; others run as called
    return unfold(y, x_seq.shape[:2])


def delay(x_seq: torch.Tensor, delay_steps: int) -> torch.Tensor:
    """Delay a sequence: ``y[t] = x[t - delay_steps]``, zeros for ``t < delay_steps``.

    ``[T, N, *] -> [T, N, *]``; ``delay_steps`` is a non-negative int.
    """
    delay_steps = non_negative_int("delay", "delay_steps", delay_steps)
    y = torch.zeros_like(x_seq)
    if delay_steps < x_seq.shape[0]:
        y[delay_steps:] = x_seq[: x_seq.shape[0] - delay_steps]
    return y
