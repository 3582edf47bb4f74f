"""Tuner (100 ms): gradient adaptation of the fuel and spark cells.

Adapts only in steady operation with valid conditions: tuner enabled, EngineMode NORMAL,
no fault code set (PERSIST_DROPPED excepted), warm coolant, lambda closed loop active,
and speed, manifold pressure and lambda each changing less than their stability bounds
per 100 ms for ``tuner_stable_time``. Then:

- fuel: learn ``tuner_fuel_gain`` x LambdaTrim (the closed loop's correction moves into
  the map). The fuel path interpolates the adaptation bilinearly between the four cells
  around the operating point, so the update is spread over those four cells by their
  bilinear weights w (cell += g w / sum(w^2): the interpolated correction moves by exactly
  g, whatever the position between breakpoints); cells under ``MIN_CELL_WEIGHT`` are left
  alone (a point at a breakpoint adapts that one cell; sensor noise around it does not
  smear into the neighbours). Each cell: at most ``tuner_fuel_step`` per update, at most
  ``tuner_fuel_max`` in total. Adapting only the nearest cell left a point between
  breakpoints with a fraction of each update, so an ~8 % error drove that cell into its
  total bound (LIMITED) before the trim was gone;
- spark (cell nearest the operating point): towards MBT / the knock limit -- retard one
  ``tuner_spark_step`` while knock retard is active, advance one step after
  ``tuner_knock_free_time`` without knock while the cell is still below MBT; at most
  ``tuner_spark_max`` from the base map.

Every change goes to the calibration's adaptation (audited, persisted by the Persister).
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller
from controllers.codes import EngineMode, Fault, TunerState

FUEL_DEADBAND_PCT = 0.3      # trims smaller than this are noise, not map error
MIN_CELL_WEIGHT = 0.1        # bilinear weight below which a fuel cell is not adapted
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

    def _fuel(self, rpm: float, p_im: float, trim: float, now: float) -> bool:
        """One bounded fuel update over the surrounding cells; True when a bound stopped it."""
        s = self._s
        adapt = self.calibration.adapt
        if abs(trim) < FUEL_DEADBAND_PCT:
            return False
        table = adapt.fuel_pct
        i, fx = table.x.locate(rpm)
        j, fy = table.y.locate(p_im)
        cells = [(ci, cj, w) for ci, cj, w in ((i, j, (1.0 - fx) * (1.0 - fy)),
                                               (i + 1, j, fx * (1.0 - fy)),
                                               (i, j + 1, (1.0 - fx) * fy),
                                               (i + 1, j + 1, fx * fy))
                 if w >= MIN_CELL_WEIGHT]
        norm = sum(w * w for _, _, w in cells)
        want = s["tuner_fuel_gain"] * trim
        step, lim = s["tuner_fuel_step"], s["tuner_fuel_max"]
        limited = False
        for ci, cj, w in cells:
            old = table.z[cj][ci]
            delta = max(-step, min(step, want * w / norm))
            new = max(-lim, min(lim, old + delta))
            adapt.set_cell(table, ci, cj, new, by="tuner", at=now,
                           why=f"lambda trim {trim:+.2f} %, weight {w:.2f}")
            limited |= new != old + delta
        return limited

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
                limited = self._fuel(rpm, p_im, g("LambdaTrim", 0.0), now)
                i, j = self.calibration.maps["ve"].cell(rpm, p_im)
                limited |= self._spark(i, j, knocking, now)
                state = TunerState.LIMITED if limited else TunerState.ADAPTING
        self.state = state
        return {"TunerState": float(state),
                "TunerCellsAdapted": float(min(1023, self.calibration.adapt.cells_adapted()))}
