"""The DSR neurons: a spiking forward, a rate-based backward."""
