"""NIR converter of Delay (loaded only by spikelayers-nir).

A delay of ``d`` steps is NIR's ``Delay`` with ``delay = d * dt`` seconds for every
element of one sample; importing rounds ``delay / dt`` back to whole steps and refuses
delays that are not whole steps or differ between elements.
"""

from __future__ import annotations

import nir

from spikelayers_nir.api import ExportContext, ImportContext, float64_full, uniform

from .delay import Delay

RELATIVE_TOLERANCE = 1e-6


def export_delay(layer: Delay, context: ExportContext) -> nir.Delay:
    return nir.Delay(delay=float64_full(context.input_shape, layer.delay_steps * context.dt))


def import_delay(node: nir.Delay, context: ImportContext) -> Delay:
    steps = uniform(node.delay, "delay", context) / context.dt
    whole = round(steps)
    if whole < 0 or abs(steps - whole) > RELATIVE_TOLERANCE * max(1.0, abs(steps)):
        raise context.refuse(f"delay/dt = {steps} is not a non-negative whole number of steps (dt={context.dt})")
    return Delay(int(whole), step_mode=context.step_mode)
