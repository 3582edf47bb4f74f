"""Deliberately defective controllers for the negative tests.

Each class is a small subclass of a real controller with one defect, so a scenario that
proves the behaviour must fail against it. ``defective_rig`` (conftest.py) names them in
an ECU configuration as ``"defective:ClassName"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.aero import AeroController


class DrsIgnoresBrake(AeroController):
    """Aero controller that never sees the brake: DRS stays open while braking."""

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        blind = dict(signals)
        blind["BrakePressure"] = 0.0
        return super().step(blind, now)
