"""Safety: the 1 ms reactions and the 10 ms supervisor (engine mode, fault codes).

:class:`SafetyFast` runs in the fast task, which the ECU runtime triggers on reception
of PlantFast; every reaction to a PlantFast value is decided in the step that sees the
frame, with no debounce, so EcuFast carries it within the 1 ms budget
(docs/controllers/one_ms_budget.md):

- knock (KnockIntensity > 1) -> knock retard step and reduced SparkAdvance;
- overboost (BoostPressure > overboost) -> WastegateCmd 100 and FuelCut;
- lean at load (Lambda > lean_lambda with ManifoldPressure > lean_load) -> FuelCut;
- rev limits (NORMAL, detuned, LIMP) -> FuelCut with hysteresis;
- EmergencyStop / SHUTDOWN -> FuelCut, SparkCut, wastegate open.

:class:`Supervisor` (10 ms) latches fault codes and decides EngineMode:
NORMAL -> DETUNED (detune level > 0) -> LIMP (limp faults) -> SHUTDOWN.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from controllers.base import Controller
from controllers.codes import (
    LIMP_FAULTS,
    RX_FAULT_BITS,
    SHUTDOWN_FAULTS,
    EngineMode,
    Fault,
    RxStatus,
)

_LIMP = float(EngineMode.LIMP)
_SHUTDOWN = float(EngineMode.SHUTDOWN)
_NEVER = float(RxStatus.NEVER_RECEIVED)


class SafetyFast(Controller):
    """The 1 ms safety path: cuts, knock retard and the final EcuFast values."""

    period = 0.001
    inputs = ("EngineSpeed", "ManifoldPressure", "BoostPressure", "Lambda", "KnockIntensity",
              "PlantFast_RxStatus", "FuelMassBase", "SparkBase", "WastegateBase",
              "EngineMode", "EmergencyStop", "FaultReset", "DetuneRevLimit",
              "LambdaSensorFault")
    outputs = ("FuelCut", "SparkCut", "FuelMass", "SparkAdvance", "WastegateCmd",
               "KnockRetard", "FastFaults")
    # Until the first step: fuel off, wastegate open -- nothing can overboost.
    defaults = {"FuelCut": 1.0, "SparkCut": 0.0, "FuelMass": 0.0, "SparkAdvance": 10.0,
                "WastegateCmd": 100.0, "KnockRetard": 0.0, "FastFaults": 0.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        s = self.calibration.scalars
        self._rev_limit = s["rev_limit"]
        self._rev_hyst = s["rev_limit_hyst"]
        self._limp_rev = s["limp_rev_limit"]
        self._overspeed = s["overspeed"]
        self._k_step = s["knock_retard_step"]
        self._k_max = s["knock_retard_max"]
        self._k_delay = s["knock_recover_delay"]
        self._k_rate = s["knock_recover_rate"]
        self._ob = s["overboost"]
        self._ob_release = s["overboost"] - s["overboost_hyst"]
        self._ob_count = int(s["overboost_repeat_count"])
        self._ob_window = s["overboost_repeat_window"]
        self._lean_lambda = s["lean_lambda"]
        self._lean_load = s["lean_load"]
        self._lean_release = s["lean_load"] - s["lean_load_hyst"]
        self._lean_blank = s["lean_blank_after_cut"]
        # A reading above the plausible range is a failed sensor (open circuit reads the
        # DBC maximum), not a lean engine: it must not cut fuel before the 10 ms lambda
        # controller has had lambda_fault_time to latch LambdaSensorFault.
        self._lambda_plausible_max = s["lambda_plausible_max"]
        self._grace = s["rx_startup_grace"]
        self.knock_retard = 0.0
        self._last_knock = -1e9
        self._last_now: float | None = None
        self.rev_cut = False
        self.overboost = False
        self.lean_cut = False
        self._last_fuel_cut = -1e9
        self._ob_episodes: deque[float] = deque(maxlen=max(self._ob_count, 1))
        self.faults = 0

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        faults = self.faults
        if g("FaultReset", 0.0) >= 0.5:
            # Only conditions still present survive a reset.
            faults = 0
            self._ob_episodes.clear()
            if self.overboost:
                faults |= Fault.OVERBOOST
            if self.lean_cut:
                faults |= Fault.LEAN_AT_LOAD
        dt = 0.0 if self._last_now is None else now - self._last_now
        self._last_now = now

        rx = g("PlantFast_RxStatus", 0.0)
        rx_bad = rx != 0.0
        if rx_bad and (rx != _NEVER or now >= self._grace):
            faults |= Fault.RX_PLANT_FAST
        rpm = g("EngineSpeed", 0.0)
        p_im = g("ManifoldPressure", 100.0)
        boost = g("BoostPressure", 100.0)

        # Knock: one retard step per knocking frame, slow recovery after a quiet delay.
        retard = self.knock_retard
        if g("KnockIntensity", 0.0) > 1.0 and not rx_bad:
            retard += self._k_step
            self._last_knock = now
            if retard >= self._k_max:
                retard = self._k_max
                faults |= Fault.KNOCK_RETARD_MAX
        elif retard > 0.0 and now - self._last_knock > self._k_delay:
            # Recover only for the part of dt that lies after the quiet delay.
            quiet = now - self._last_knock - self._k_delay
            retard -= self._k_rate * (dt if dt < quiet else quiet)
            if retard < 0.0:
                retard = 0.0
        self.knock_retard = retard

        # Overboost: cut in this very step; repeated episodes latch LIMP.
        if boost > self._ob:
            if not self.overboost:
                self.overboost = True
                faults |= Fault.OVERBOOST
                eps = self._ob_episodes
                eps.append(now)
                if len(eps) >= self._ob_count and now - eps[0] <= self._ob_window:
                    faults |= Fault.OVERBOOST_REPEATED
        elif self.overboost and boost < self._ob_release:
            self.overboost = False

        # Lean at load. The sensor reads lean after any fuel cut, so the check is blanked.
        if self.lean_cut:
            if p_im < self._lean_release:
                self.lean_cut = False
        elif (p_im > self._lean_load and not rx_bad
              and self._lean_lambda < g("Lambda", 1.0) <= self._lambda_plausible_max
              and now - self._last_fuel_cut > self._lean_blank
              and g("LambdaSensorFault", 0.0) < 0.5):
            self.lean_cut = True
            faults |= Fault.LEAN_AT_LOAD

        mode = g("EngineMode", 0.0)
        limit = self._limp_rev if mode >= _LIMP else self._rev_limit
        detune_limit = g("DetuneRevLimit", limit)
        if detune_limit < limit:
            limit = detune_limit
        if self.rev_cut:
            if rpm < limit - self._rev_hyst:
                self.rev_cut = False
        elif rpm > limit:
            self.rev_cut = True
        if rpm > self._overspeed:
            faults |= Fault.OVERSPEED

        shutdown = mode >= _SHUTDOWN or g("EmergencyStop", 0.0) >= 0.5
        fuel_cut = shutdown or self.rev_cut or self.overboost or self.lean_cut
        if fuel_cut:
            self._last_fuel_cut = now
        if shutdown or self.overboost or rx_bad or mode >= _LIMP:
            wg = 100.0
        else:
            wg = g("WastegateBase", 100.0)
            wg = 0.0 if wg < 0.0 else 100.0 if wg > 100.0 else wg
        fuel = 0.0 if fuel_cut else g("FuelMassBase", 0.0)
        if fuel > 204.7:
            fuel = 204.7
        spark = g("SparkBase", 10.0) - retard
        spark = -40.0 if spark < -40.0 else 87.5 if spark > 87.5 else spark
        self.faults = faults
        return {"FuelCut": 1.0 if fuel_cut else 0.0, "SparkCut": 1.0 if shutdown else 0.0,
                "FuelMass": fuel, "SparkAdvance": spark, "WastegateCmd": wg,
                "KnockRetard": retard, "FastFaults": float(faults)}


class Supervisor(Controller):
    """10 ms: temperature protection, message supervision, latched faults, engine mode."""

    period = 0.01
    inputs = ("CoolantTemp", "OilTemp", "ExhaustGasTemp", "IntakeAirTemp", "DetuneLevel",
              "EmergencyStop", "FaultReset", "FastFaults", "LambdaSensorFault",
              "HealthFaults", "PersistDropped",
              *(f"{m}_RxStatus" for m in RX_FAULT_BITS))
    outputs = ("EngineMode", "FaultCodes")
    defaults = {"EngineMode": 0.0, "FaultCodes": 0.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        s = self.calibration.scalars
        self._hyst = s["temp_recover_hyst"]
        # (signal, hard limit, fault bit, critical limit or None)
        self._temps = (
            ("CoolantTemp", s["coolant_hard"], Fault.OVERTEMP_COOLANT, s["coolant_critical"]),
            ("OilTemp", s["oil_hard"], Fault.OVERTEMP_OIL, s["oil_critical"]),
            ("ExhaustGasTemp", s["egt_hard"], Fault.OVERTEMP_EGT, s["egt_critical"]),
            ("IntakeAirTemp", s["intake_hard"], Fault.OVERTEMP_INTAKE, None),
        )
        self._grace = s["rx_startup_grace"]
        self._rx = tuple((f"{m}_RxStatus", bit, m == "BenchCmd")
                         for m, bit in RX_FAULT_BITS.items())
        self.latched = 0
        self._critical = False

    def _active(self, g, now: float) -> int:
        """Fault bits whose condition is present right now."""
        active = 0
        critical = False
        for name, hard, bit, crit in self._temps:
            t = g(name)
            if t is None:
                continue
            if t > hard or (self.latched & bit and t > hard - self._hyst):
                active |= bit
            if crit is not None and t > crit:
                critical = True
        if critical:
            active |= Fault.CRITICAL_TEMP
        for name, bit, bench in self._rx:
            st = g(name, 0.0)
            if st == 0.0:
                continue
            if st == RxStatus.NEVER_RECEIVED and (bench or now < self._grace):
                continue     # the bench may never send BenchCmd; startup has a grace time
            if bench and st == RxStatus.TIMEOUT:
                continue     # a silent bench is not a fault, a corrupted one is
            active |= bit
        if g("EmergencyStop", 0.0) >= 0.5:
            active |= Fault.EMERGENCY_STOP
        if g("LambdaSensorFault", 0.0) >= 0.5:
            active |= Fault.LAMBDA_SENSOR
        active |= int(g("HealthFaults", 0.0))
        if g("PersistDropped", 0.0) > 0.0:
            active |= Fault.PERSIST_DROPPED
        return active

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        active = self._active(g, now)
        if g("FaultReset", 0.0) >= 0.5:
            self.latched = active
        else:
            self.latched |= active
        codes = self.latched | int(g("FastFaults", 0.0))
        if codes & SHUTDOWN_FAULTS:
            mode = EngineMode.SHUTDOWN
        elif codes & LIMP_FAULTS:
            mode = EngineMode.LIMP
        elif g("DetuneLevel", 0.0) > 0.0:
            mode = EngineMode.DETUNED
        else:
            mode = EngineMode.NORMAL
        return {"EngineMode": float(mode), "FaultCodes": float(codes & 0xFFFFFFFF)}
