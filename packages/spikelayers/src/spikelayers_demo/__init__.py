"""The demo of the umbrella distribution: ``spikelayers demo`` trains a spiking CNN."""
