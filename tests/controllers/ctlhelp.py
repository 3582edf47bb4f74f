"""Helpers of the controller tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations


def run(ctrl, signals: dict, now: float) -> dict:
    """One step with the runtime's merge semantics: outputs go back into signals."""
    out = ctrl.step(signals, now)
    signals.update(out)
    return out
