"""One comparison helper for outputs, states and gradients."""

from __future__ import annotations

from typing import Any

import torch


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max|a - e| / max(max|e|, tiny)``, computed in float64."""
    a = actual.detach().double()
    e = expected.detach().double()
    scale = e.abs().max().item() if e.numel() else 0.0
    diff = (a - e).abs().max().item() if e.numel() else 0.0
    return diff / max(scale, 1e-12)


def assert_close(actual: Any, expected: Any, what: str, *, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Assert that two tensors (or nested lists/tuples of tensors and numbers) agree.

    The message names ``what`` was compared and reports the shapes, the largest absolute
    error and the relative error, so a failing check says where it failed.
    """
    if isinstance(actual, (list, tuple)) or isinstance(expected, (list, tuple)):
        if (
            not isinstance(actual, (list, tuple))
            or not isinstance(expected, (list, tuple))
            or len(actual) != len(expected)
        ):
            raise AssertionError(f"{what}: structures differ: {_describe(actual)} vs {_describe(expected)}")
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{what}[{index}]", rtol=rtol, atol=atol)
        return
    if actual is None or expected is None:
        if actual is not expected:
            raise AssertionError(f"{what}: one side is None: {_describe(actual)} vs {_describe(expected)}")
        return
    if not isinstance(actual, torch.Tensor) and not isinstance(expected, torch.Tensor):
        if actual != expected:
            raise AssertionError(f"{what}: {actual!r} != {expected!r}")
        return
    if not isinstance(actual, torch.Tensor):
        actual = torch.full_like(expected, float(actual))
    if not isinstance(expected, torch.Tensor):
        expected = torch.full_like(actual, float(expected))
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {tuple(actual.shape)} != expected {tuple(expected.shape)}")
    a, e = actual.detach(), expected.detach()
    if a.dtype != e.dtype:
        a, e = a.double(), e.double()
    nan_a, nan_e = torch.isnan(a), torch.isnan(e)
    if not torch.equal(nan_a, nan_e):
        raise AssertionError(f"{what}: NaN positions differ")
    try:
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError:
        max_abs = (a.double() - e.double()).abs().nan_to_num(0.0).max().item()
        raise AssertionError(
            f"{what}: values differ (shape {tuple(a.shape)}): max abs error {max_abs:.3g}, "
            f"relative error {relative_error(a.nan_to_num(0.0), e.nan_to_num(0.0)):.3g}, "
            f"rtol={rtol}, atol={atol}"
        ) from None


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[{len(value)}]"
    return repr(value)
