"""The gated LIF recurrence."""
