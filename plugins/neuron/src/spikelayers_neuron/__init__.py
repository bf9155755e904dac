"""Spiking neurons (IF, LIF, parametric LIF) and surrogate-gradient functions.

Use them through the registry, ``spikelayers.neuron.LIFNode`` and
``spikelayers.surrogate.ATan``, or import ``spikelayers_neuron.node`` directly.
"""
