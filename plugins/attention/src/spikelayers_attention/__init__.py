"""Attention layers for multi-step spiking networks.

Use them through the registry, ``spikelayers.layer.TemporalWiseAttention``, or import
``spikelayers_attention.temporal`` / ``spikelayers_attention.multi_dimensional`` directly.
"""
