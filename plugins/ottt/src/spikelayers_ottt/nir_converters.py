"""NIR converter of the OTTT LIF neuron (loaded only by spikelayers-nir).

In eval mode an :class:`OTTTLIFNode` is a plain LIF neuron and is written as one
(see ``spikelayers_neuron.nir_converters``); in training mode it also emits a trace,
which NIR cannot carry, so it is refused.
"""

from __future__ import annotations

import nir

from spikelayers_neuron.nir_converters import export_lif
from spikelayers_nir.api import ExportContext

from .node import OTTTLIFNode


def export_ottt_lif(layer: OTTTLIFNode, context: ExportContext) -> nir.LIF:
    if layer.training:
        raise context.refuse("in training mode it returns [spike, trace]; call .eval() to export it as a LIF neuron")
    return export_lif(layer, context)
