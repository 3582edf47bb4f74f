"""Detuner: the safety adjustment for degrading parts and hot engines (10 ms).

Each source (turbo, injector, knock-sensor and cooling health; coolant, oil and exhaust
temperatures) gives a severity 0..1: health between ``health_detune_start`` (0) and
``health_detune_full`` (1), a temperature between its soft (0) and hard (1) limit.
A severity rises at once and recovers only when it has fallen ``detune_hyst`` below its
held value, at ``detune_recover_rate``. Boost reduction, spark retard and rev-limit
reduction are weighted maxima of the held severities, so each is monotone in every
source's severity. ``DetuneLevel`` is the largest held severity in %.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller
from controllers.codes import Fault, RxStatus

# source: (boost, spark, rev) weights -- which outputs a source's severity drives.
WEIGHTS: dict[str, tuple[float, float, float]] = {
    "TurboHealth": (1.0, 0.0, 0.5),
    "InjectorHealth": (1.0, 0.5, 0.5),
    "KnockSensorHealth": (0.5, 1.0, 0.0),
    "CoolingHealth": (0.5, 0.5, 0.5),
    "CoolantTemp": (1.0, 1.0, 0.5),
    "OilTemp": (0.5, 0.5, 1.0),
    "ExhaustGasTemp": (1.0, 0.5, 0.5),
}
HEALTH_BITS = {"TurboHealth": Fault.HEALTH_TURBO, "InjectorHealth": Fault.HEALTH_INJECTOR,
               "KnockSensorHealth": Fault.HEALTH_KNOCK_SENSOR,
               "CoolingHealth": Fault.HEALTH_COOLING}


class Detuner(Controller):
    period = 0.01
    inputs = (*WEIGHTS, "PlantHealth_RxStatus", "PlantTemps_RxStatus")
    outputs = ("DetuneLevel", "DetuneBoostKpa", "DetuneSparkDeg", "DetuneRevLimit",
               "HealthFaults")
    defaults = {"DetuneLevel": 0.0, "DetuneBoostKpa": 0.0, "DetuneSparkDeg": 0.0,
                "DetuneRevLimit": 16383.0, "HealthFaults": 0.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        s = self.calibration.scalars
        h0, h1 = s["health_detune_start"], s["health_detune_full"]
        # (signal, value at severity 0, value at severity 1, is health)
        self._ramps = [(n, h0, h1, True) for n in HEALTH_BITS] + [
            ("CoolantTemp", s["coolant_soft"], s["coolant_hard"], False),
            ("OilTemp", s["oil_soft"], s["oil_hard"], False),
            ("ExhaustGasTemp", s["egt_soft"], s["egt_hard"], False)]
        self._hyst = s["detune_hyst"] / 100.0
        self._rate = s["detune_recover_rate"] / 100.0
        self._boost_max = s["detune_boost_max"]
        self._spark_max = s["detune_spark_max"]
        self._rev_max = s["rev_limit"]
        self._rev_min = s["detune_rev_min"]
        self.held = dict.fromkeys(WEIGHTS, 0.0)
        self._last: float | None = None

    @staticmethod
    def severity(value: float, at0: float, at1: float) -> float:
        """0 at ``at0``, 1 at ``at1``, linear and clamped (either direction)."""
        f = (value - at0) / (at1 - at0)
        return 0.0 if f < 0.0 else 1.0 if f > 1.0 else f

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        dt = 0.0 if self._last is None else now - self._last
        self._last = now
        never = float(RxStatus.NEVER_RECEIVED)
        health_seen = g("PlantHealth_RxStatus", 0.0) != never
        temps_seen = g("PlantTemps_RxStatus", 0.0) != never
        health_faults = 0
        held = self.held
        for name, at0, at1, is_health in self._ramps:
            # Initial (never received) values are not measurements: a 0 % health
            # before the first PlantHealth frame must not detune.
            if not (health_seen if is_health else temps_seen):
                continue
            raw = self.severity(g(name, at0), at0, at1)
            if is_health and raw > 0.0:
                health_faults |= HEALTH_BITS[name]
            h = held[name]
            if raw >= h:
                held[name] = raw
            elif raw < h - self._hyst:
                h -= self._rate * dt
                held[name] = raw if h < raw else h
        boost = spark = rev = level = 0.0
        for name, (wb, ws, wr) in WEIGHTS.items():
            h = held[name]
            level = h if h > level else level
            boost = max(boost, wb * h)
            spark = max(spark, ws * h)
            rev = max(rev, wr * h)
        return {"DetuneLevel": float(round(100.0 * level)),
                "DetuneBoostKpa": boost * self._boost_max,
                "DetuneSparkDeg": spark * self._spark_max,
                "DetuneRevLimit": self._rev_max - rev * (self._rev_max - self._rev_min),
                "HealthFaults": float(health_faults)}
