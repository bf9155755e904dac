"""Self-attention blocks of spiking transformers (multi-step only).

Use them through the registry, ``spikelayers.layer.SpikingSelfAttention``, or import
``spikelayers_transformer.ssa``, ``.qk`` and ``.sdsa`` directly.
"""
