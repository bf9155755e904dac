"""Benchmarks of the installed spikelayers plugins (``spikelayers bench``)."""
