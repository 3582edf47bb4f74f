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


# -- safety and lambda (tests/integration/negative/test_negative_safety.py) -------------------------

from controllers.lambda_control import LambdaController  # noqa: E402
from controllers.safety import SafetyFast  # noqa: E402


class SafetyFastOneStepLate(SafetyFast):
    """The 1 ms safety path one task period late: each step sends the previous step's
    outputs (a reaction computed "somewhere in the next period" instead of on reception)."""

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        self._previous: dict[str, float] | None = None

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        current = super().step(signals, now)
        out = self._previous if self._previous is not None else dict(self.defaults)
        self._previous = current
        return out


class LambdaTrimWrongSign(LambdaController):
    """Lambda controller whose trim has the wrong sign: a lean reading removes fuel."""

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        out = super().step(signals, now)
        # The integral still winds on the lean error, so the inverted trim runs away to its
        # limit instead of correcting.
        out["LambdaTrim"] = -out["LambdaTrim"]
        return out
