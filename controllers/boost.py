"""Boost control (10 ms): wastegate PI on the boost target map.

Target = boost_target(rpm, throttle) minus the detuner's reduction. No boost wanted
(target at or below 102 kPa) opens the wastegate. The PI integrates only while its
output is not saturated in the direction of the error (anti-windup). The 1 ms path
overrides the result (wastegate fully open) on overboost, LIMP and SHUTDOWN.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller

NO_BOOST_KPA = 102.0


class BoostController(Controller):
    period = 0.01
    inputs = ("EngineSpeed", "ThrottlePosition", "BoostPressure", "DetuneBoostKpa")
    outputs = ("WastegateBase", "BoostTarget")
    defaults = {"WastegateBase": 100.0, "BoostTarget": 100.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        s = self.calibration.scalars
        self._map = self.calibration.maps["boost_target"]
        self._kp, self._ki, self._ff = s["boost_kp"], s["boost_ki"], s["boost_wg_feedforward"]
        self.integral = 0.0
        self._last: float | None = None

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        dt = 0.0 if self._last is None else now - self._last
        self._last = now
        target = (self._map.lookup(g("EngineSpeed", 0.0), g("ThrottlePosition", 0.0))
                  - g("DetuneBoostKpa", 0.0))
        if target <= NO_BOOST_KPA:
            self.integral = 0.0
            return {"WastegateBase": 100.0, "BoostTarget": max(target, 0.0)}
        err = target - g("BoostPressure", 100.0)      # > 0: too little boost -> close
        wg = self._ff - self._kp * err - self.integral
        if 0.0 < wg < 100.0 or (wg >= 100.0 and err > 0.0) or (wg <= 0.0 and err < 0.0):
            self.integral += self._ki * err * dt
            wg = self._ff - self._kp * err - self.integral
        wg = 0.0 if wg < 0.0 else 100.0 if wg > 100.0 else wg
        return {"WastegateBase": wg, "BoostTarget": target}
