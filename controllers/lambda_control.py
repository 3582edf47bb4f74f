"""Lambda controller (10 ms): closed-loop PI trim, open-loop enrichment, sensor checks.

Closed loop on the lambda target of the fast path (``LambdaTarget``) when the engine is
warm and running, below full load, without EGT enrichment, without a recent fuel cut and
with a plausible sensor. Error = measured - target (lean is positive, and a positive
trim adds fuel). PI with trim limits and conditional integration (anti-windup). Open
loop: the integral is frozen (``LambdaTrim`` holds it); after a sensor fault it is 0.
Enrichment: ``FuelEnrichPct`` = egt_enrichment(rpm, load) scaled 0..1 between
egt_enrich_start and egt_enrich_full. Plausibility: lambda outside the plausible range
for lambda_fault_time while fuelled and running latches ``LambdaSensorFault`` (cleared
by FaultReset once plausible); PlantFast reception errors fall back to open loop.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller
from controllers.codes import EngineMode


class LambdaController(Controller):
    period = 0.01
    inputs = ("Lambda", "LambdaTarget", "EngineSpeed", "ManifoldPressure", "ThrottlePosition",
              "ExhaustGasTemp", "CoolantTemp", "FuelCut", "PlantFast_RxStatus",
              "PlantTemps_RxStatus", "FaultReset", "EngineMode")
    outputs = ("LambdaTrim", "LambdaClosedLoop", "FuelEnrichPct", "LambdaSensorFault")
    defaults = {"LambdaTrim": 0.0, "LambdaClosedLoop": 0.0, "FuelEnrichPct": 0.0,
                "LambdaSensorFault": 0.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        s = self.calibration.scalars
        self._s = s
        self._enrich = self.calibration.maps["egt_enrichment"]
        self._limit = s["lambda_trim_limit"]
        self.integral = 0.0
        self.sensor_fault = False
        self._implausible_since: float | None = None
        self._last_cut = -1e9
        self._last: float | None = None

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        s = self._s
        dt = 0.0 if self._last is None else now - self._last
        self._last = now
        rpm = g("EngineSpeed", 0.0)
        p_im = g("ManifoldPressure", 100.0)
        lam = g("Lambda", 1.0)
        if g("FuelCut", 0.0) >= 0.5:
            self._last_cut = now
        fuelled = now - self._last_cut > s["lambda_blank_after_cut"]
        running = rpm >= s["lambda_cl_min_rpm"]
        rx_ok = g("PlantFast_RxStatus", 0.0) == 0.0

        plausible = s["lambda_plausible_min"] <= lam <= s["lambda_plausible_max"]
        if running and fuelled and rx_ok and not plausible:
            if self._implausible_since is None:
                self._implausible_since = now
            if now - self._implausible_since >= s["lambda_fault_time"]:
                self.sensor_fault = True
        else:
            self._implausible_since = None
        if self.sensor_fault and g("FaultReset", 0.0) >= 0.5 and plausible:
            self.sensor_fault = False
        if self.sensor_fault:
            self.integral = 0.0

        egt = g("ExhaustGasTemp", 0.0) if g("PlantTemps_RxStatus", 1.0) != 1.0 else 0.0
        ramp = (egt - s["egt_enrich_start"]) / (s["egt_enrich_full"] - s["egt_enrich_start"])
        ramp = 0.0 if ramp < 0.0 else 1.0 if ramp > 1.0 else ramp
        enrich = ramp * self._enrich.lookup(rpm, p_im) if ramp > 0.0 else 0.0

        full_load = p_im > s["lambda_ol_load"] or g("ThrottlePosition", 0.0) > s["lambda_ol_throttle"]
        closed = (not self.sensor_fault and running and fuelled and rx_ok and not full_load
                  and enrich == 0.0 and g("CoolantTemp", -40.0) >= s["lambda_cl_min_coolant"]
                  and g("EngineMode", 0.0) < EngineMode.SHUTDOWN)
        limit = self._limit
        if closed:
            err = lam - g("LambdaTarget", 1.0)
            p = s["lambda_kp"] * err
            trim = p + self.integral
            # Conditional integration: never wind further into a saturated output.
            if not ((trim >= limit and err > 0.0) or (trim <= -limit and err < 0.0)):
                self.integral += s["lambda_ki"] * err * dt
                self.integral = -limit if self.integral < -limit else min(self.integral, limit)
            trim = p + self.integral
        else:
            trim = self.integral
        trim = -limit if trim < -limit else limit if trim > limit else trim
        return {"LambdaTrim": trim, "LambdaClosedLoop": 1.0 if closed else 0.0,
                "FuelEnrichPct": enrich, "LambdaSensorFault": 1.0 if self.sensor_fault else 0.0}
