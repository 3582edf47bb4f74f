"""Tests of the simulated CAN bus (hil.bus)."""
