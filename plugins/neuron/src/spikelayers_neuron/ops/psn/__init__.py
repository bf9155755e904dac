"""The parallel spiking neurons' charge: a matrix product over time."""
