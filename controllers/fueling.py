"""BaseMapFast: fuel mass and spark advance from the base maps, every 1 ms.

First controller of the fast task. Speed-density air mass per cylinder from the VE
map, ManifoldPressure and IntakeAirTemp; base fuel = air / (14.7 * lambda target),
corrected by the learnt fuel adaptation, the closed-loop lambda trim and the open-loop
enrichment of the 10 ms lambda controller. Spark = min(MBT, knock-limited spark) plus
the learnt spark adaptation (never beyond MBT), minus the detuner's retard. The safety
controller after it applies cuts and knock retard and produces the EcuFast signals.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller

R_AIR = 287.05          # J/(kg K)
AFR_STOICH = 14.7


class BaseMapFast(Controller):
    period = 0.001
    inputs = ("EngineSpeed", "ManifoldPressure", "IntakeAirTemp", "LambdaTrim",
              "FuelEnrichPct", "DetuneSparkDeg")
    outputs = ("FuelMassBase", "SparkBase", "LambdaTarget")
    defaults = {"FuelMassBase": 0.0, "SparkBase": 10.0, "LambdaTarget": 1.0}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        cal = self.calibration
        m = cal.maps
        self._ve, self._lam = m["ve"], m["lambda_target"]
        self._mbt, self._kls = m["spark_mbt"], m["spark_knock_limit"]
        self._fuel_adapt, self._spark_adapt = cal.adapt.fuel_pct, cal.adapt.spark_deg
        self._xa, self._ya = self._ve.x, self._ve.y
        # Maps on the VE map's axes share one locate per step; others do their own.
        self._shared = {name: (t.x is self._xa and t.y is self._ya)
                        for name, t in (("lam", self._lam), ("mbt", self._mbt),
                                        ("kls", self._kls))}
        if not all(self._shared.values()):
            raise ValueError(f"{cal.path}: ve, lambda_target, spark_mbt and spark_knock_limit "
                             "must share their rpm and load axes")
        # kg -> mg, kPa -> Pa, cylinder volume: one constant.
        self._air_k = 1e3 * cal.cylinder_volume_m3 / R_AIR * 1e6

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        rpm = g("EngineSpeed", 0.0)
        p_kpa = g("ManifoldPressure", 100.0)
        i, fx = self._xa.locate(rpm)
        j, fy = self._ya.locate(p_kpa)
        ve = self._ve.at(i, fx, j, fy) * 0.01
        lam = self._lam.at(i, fx, j, fy)
        t_k = g("IntakeAirTemp", 25.0) + 273.15
        air_mg = ve * p_kpa * self._air_k / t_k
        corr = (self._fuel_adapt.at(i, fx, j, fy) + g("LambdaTrim", 0.0)
                + g("FuelEnrichPct", 0.0))
        fuel = air_mg / (AFR_STOICH * lam) * (1.0 + 0.01 * corr)
        mbt = self._mbt.at(i, fx, j, fy)
        kls = self._kls.at(i, fx, j, fy)
        spark = (mbt if mbt < kls else kls) + self._spark_adapt.at(i, fx, j, fy)
        if spark > mbt:
            spark = mbt
        return {"FuelMassBase": fuel if fuel > 0.0 else 0.0,
                "SparkBase": spark - g("DetuneSparkDeg", 0.0),
                "LambdaTarget": lam}
