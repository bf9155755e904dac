"""Online training through time (OTTT): trace-based gradients with one backward per step.

Layers resolve through ``spikelayers.layer`` and the neuron through
``spikelayers.neuron.OTTTLIFNode``.
"""
