"""NIR converters of IFNode, LIFNode and ParametricLIFNode (loaded only by spikelayers-nir).

The conventions are SpikingJelly 2.0's, so graphs interchange with it. NIR neurons are
continuous; a spikelayers neuron is their Euler step of length ``dt``:

- LIF: ``tau_nir = tau * dt``, ``v_leak = v_reset``, ``r = 1`` with ``decay_input=True``
  (``v += (v_leak - v + x) / tau``) and ``r = tau`` without (``v += (v_leak - v) / tau + x``).
- IF: ``r = 1 / dt`` (``v += x``).
- ParametricLIF: exported as the LIF of its current ``tau = 1 / sigmoid(w)``.

Parameters are float64 arrays of one sample's shape. NIR fires on ``v > threshold``,
spikelayers on ``v >= v_threshold``; ``exact_threshold`` moves the threshold by one
float32 so the two agree exactly.
"""

from __future__ import annotations

import math

import nir
import torch

from spikelayers_nir.api import ExportContext, ImportContext, float32_above, float32_below, float64_full, uniform

from .node import BaseNode, IFNode, LIFNode, ParametricLIFNode

RELATIVE_TOLERANCE = 1e-6


def _scalar(value: object, what: str, context: ExportContext) -> float:
    if isinstance(value, torch.Tensor):
        values = value.detach().reshape(-1)
        if values.numel() != 1 and not bool((values == values[0]).all()):
            raise context.refuse(f"{what} differs between neurons; NIR readers expect one value per layer here")
        value = values[0].item()
    return float(value)


def _reset_and_threshold(layer: BaseNode, context: ExportContext) -> tuple[float, float]:
    if layer.v_reset is None:
        raise context.refuse(
            "soft reset (v_reset=None) subtracts the threshold, which NIR cannot express: its neurons reset to "
            "v_reset; use a hard reset"
        )
    threshold = _scalar(layer.v_threshold, "v_threshold", context)
    if context.exact_threshold:
        threshold = float32_below(threshold)
    return _scalar(layer.v_reset, "v_reset", context), threshold


def _lif_node(tau: float, decay_input: bool, v_reset: float, threshold: float, context: ExportContext) -> nir.LIF:
    if not math.isfinite(tau) or tau <= 1.0:
        raise context.refuse(f"tau={tau} must be finite and greater than 1")
    shape = context.output_shape
    return nir.LIF(
        tau=float64_full(shape, tau * context.dt),
        r=float64_full(shape, 1.0 if decay_input else tau),
        v_leak=float64_full(shape, v_reset),
        v_threshold=float64_full(shape, threshold),
        v_reset=float64_full(shape, v_reset),
    )


def export_if(layer: IFNode, context: ExportContext) -> nir.IF:
    v_reset, threshold = _reset_and_threshold(layer, context)
    shape = context.output_shape
    return nir.IF(
        r=float64_full(shape, 1.0 / context.dt),
        v_threshold=float64_full(shape, threshold),
        v_reset=float64_full(shape, v_reset),
    )


def export_lif(layer: LIFNode, context: ExportContext) -> nir.LIF:
    v_reset, threshold = _reset_and_threshold(layer, context)
    return _lif_node(float(layer.tau), bool(layer.decay_input), v_reset, threshold, context)


def export_parametric_lif(layer: ParametricLIFNode, context: ExportContext) -> nir.LIF:
    v_reset, threshold = _reset_and_threshold(layer, context)
    with torch.no_grad():
        tau = 1.0 / float(layer.w.sigmoid())
    return _lif_node(tau, bool(layer.decay_input), v_reset, threshold, context)


def _close(value: float, expected: float) -> bool:
    return math.isfinite(value) and math.isclose(value, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def _import_threshold(node: nir.NIRNode, context: ImportContext) -> float:
    threshold = uniform(node.v_threshold, "v_threshold", context)
    return float32_above(threshold) if context.exact_threshold else threshold


def import_if(node: nir.IF, context: ImportContext) -> IFNode:
    r = uniform(node.r, "r", context)
    if not _close(r, 1.0 / context.dt):
        raise context.refuse(
            f"r={r}, but an IF neuron that adds its input once per step has r = 1/dt = {1.0 / context.dt} "
            f"(dt={context.dt}; pass the graph's dt to from_nir if it differs)"
        )
    return IFNode(
        v_threshold=_import_threshold(node, context),
        v_reset=uniform(node.v_reset, "v_reset", context),
        step_mode=context.step_mode,
    )


def import_lif(node: nir.LIF, context: ImportContext) -> LIFNode:
    tau = uniform(node.tau, "tau", context) / context.dt
    if not math.isfinite(tau) or tau <= 1.0:
        raise context.refuse(
            f"tau/dt = {tau} is not greater than 1 (dt={context.dt}), which suggests a dt mismatch; pass the dt the "
            "graph was made with"
        )
    r = uniform(node.r, "r", context)
    if _close(r, 1.0):
        decay_input = True
    elif _close(r, tau):
        decay_input = False
    else:
        raise context.refuse(f"r={r}; a spikelayers LIF neuron has r = 1 (decay_input=True) or r = tau/dt = {tau}")
    v_reset = uniform(node.v_reset, "v_reset", context)
    v_leak = uniform(node.v_leak, "v_leak", context)
    if not _close(v_leak, v_reset) and v_leak != v_reset:
        raise context.refuse(f"v_leak={v_leak} differs from v_reset={v_reset}; spikelayers LIF neurons leak to v_reset")
    return LIFNode(
        tau=tau,
        decay_input=decay_input,
        v_threshold=_import_threshold(node, context),
        v_reset=v_reset,
        step_mode=context.step_mode,
    )
