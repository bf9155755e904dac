"""An example spikelayers plugin providing ``layer.ExponentialTrace``."""
