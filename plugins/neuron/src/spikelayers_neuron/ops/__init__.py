"""Kernels of the neurons outside the ``BaseNode`` family, one folder per op.

Each folder holds ``reference.py`` (the readable loop over ``T`` written from the
neuron's equations) and ``fused.py`` (the fast path the neurons run), which the tests
hold to the reference.
"""
