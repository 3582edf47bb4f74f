"""Tuner (100 ms): gradient adaptation of the fuel and spark cells.

Adapts only in steady operation with valid conditions: tuner enabled, EngineMode NORMAL,
no fault code set (PERSIST_DROPPED excepted), warm coolant, lambda closed loop active,
and speed, manifold pressure and lambda each changing less than their stability bounds
per 100 ms for ``tuner_stable_time``. Then, in the cell nearest the operating point:

- fuel: learn ``tuner_fuel_gain`` x LambdaTrim (the closed loop's correction moves into
  the map), at most ``tuner_fuel_step`` per update, at most ``tuner_fuel_max`` in total;
- spark: towards MBT / the knock limit -- retard one ``tuner_spark_step`` while knock
  retard is active, advance one step after ``tuner_knock_free_time`` without knock while
  the cell is still below MBT; at most ``tuner_spark_max`` from the base map.

Every change goes to the calibration's adaptation (audited, persisted by the Persister).
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller
from controllers.codes import EngineMode, Fault, TunerState

FUEL_DEADBAND_PCT = 0.3      # trims smaller than this are noise, not map error
IGNORED_FAULTS = int(Fault.PERSIST_DROPPED)


def steady(prev: tuple[float, float, float] | None, cur: tuple[float, float, float],
           bounds: tuple[float, float, float]) -> bool:
    return prev is not None and all(abs(a - b) <= d for a, b, d in zip(prev, cur, bounds,
                                                                        strict=True))


class Tuner(Controller):
    period = 0.1
    inputs = ("EngineSpeed", "ManifoldPressure", "Lambda", "LambdaTrim", "LambdaClosedLoop",
              "CoolantTemp", "KnockRetard", "KnockIntensity", "FaultCodes", "EngineMode")
    outputs = ("TunerState", "TunerCellsAdapted")
    defaults = {"TunerState": 0.0, "TunerCellsAdapted": 0.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        cal = self.calibration
        self._s = cal.scalars
        self._mbt, self._kls = cal.maps["spark_mbt"], cal.maps["spark_knock_limit"]
        self._prev: tuple[float, float, float] | None = None
        self._steady_since: float | None = None
        self._last_knock = -1e9
        self.state = TunerState.OFF

    def _fuel(self, i: int, j: int, trim: float, now: float) -> bool:
        """One bounded fuel update; True when a bound stopped it."""
        s = self._s
        adapt = self.calibration.adapt
        old = adapt.fuel_pct.z[j][i]
        if abs(trim) < FUEL_DEADBAND_PCT:
            return False
        step = s["tuner_fuel_step"]
        delta = max(-step, min(step, s["tuner_fuel_gain"] * trim))
        new = max(-s["tuner_fuel_max"], min(s["tuner_fuel_max"], old + delta))
        adapt.set_cell(adapt.fuel_pct, i, j, new, by="tuner", at=now,
                       why=f"lambda trim {trim:+.2f} %")
        return new != old + delta

    def _spark(self, i: int, j: int, knocking: bool, now: float) -> bool:
        s = self._s
        adapt = self.calibration.adapt
        old = adapt.spark_deg.z[j][i]
        step, lim = s["tuner_spark_step"], s["tuner_spark_max"]
        if knocking:
            delta, why = -step, "knock retard active"
        elif now - self._last_knock >= s["tuner_knock_free_time"]:
            mbt, kls = self._mbt.z[j][i], self._kls.z[j][i]
            room = mbt - (min(mbt, kls) + old)         # distance still below MBT
            if room <= 0.0:
                return False
            delta, why = min(step, room), "knock-free, below MBT"
        else:
            return False
        new = max(-lim, min(lim, old + delta))
        adapt.set_cell(adapt.spark_deg, i, j, new, by="tuner", at=now, why=why)
        return new != old + delta

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        s = self._s
        rpm, p_im, lam = g("EngineSpeed", 0.0), g("ManifoldPressure", 100.0), g("Lambda", 1.0)
        cur = (rpm, p_im, lam)
        is_steady = steady(self._prev, cur, (s["tuner_stable_rpm"], s["tuner_stable_load"],
                                             s["tuner_stable_lambda"]))
        self._prev = cur
        knocking = g("KnockRetard", 0.0) > 0.0 or g("KnockIntensity", 0.0) > 1.0
        if knocking:
            self._last_knock = now
        faults = int(g("FaultCodes", 0.0)) & ~IGNORED_FAULTS
        if s["tuner_enabled"] < 0.5:
            state = TunerState.OFF
        elif faults or g("EngineMode", 0.0) != EngineMode.NORMAL:
            state = TunerState.FROZEN
            self._steady_since = None
        elif (not is_steady or g("CoolantTemp", -40.0) < s["tuner_min_coolant"]
              or g("LambdaClosedLoop", 0.0) < 0.5):
            state = TunerState.WAITING
            self._steady_since = None
        else:
            if self._steady_since is None:
                self._steady_since = now
            if now - self._steady_since < s["tuner_stable_time"]:
                state = TunerState.WAITING
            else:
                i, j = self.calibration.maps["ve"].cell(rpm, p_im)
                limited = self._fuel(i, j, g("LambdaTrim", 0.0), now)
                limited |= self._spark(i, j, knocking, now)
                state = TunerState.LIMITED if limited else TunerState.ADAPTING
        self.state = state
        return {"TunerState": float(state),
                "TunerCellsAdapted": float(min(1023, self.calibration.adapt.cells_adapted()))}
