"""Spiking neurons and surrogate-gradient functions.

Use them through the registry, ``spikelayers.neuron.LIFNode`` and
``spikelayers.surrogate.ATan``, or import the modules directly: the extension surface
(:mod:`spikelayers_neuron.base`), IF/LIF/PLIF (:mod:`spikelayers_neuron.node`), QIF/EIF/
Izhikevich (:mod:`spikelayers_neuron.nonlinear`), LIAF/KLIF/SLTT
(:mod:`spikelayers_neuron.lif_variants`) and the surrogates
(:mod:`spikelayers_neuron.surrogate`).
"""
