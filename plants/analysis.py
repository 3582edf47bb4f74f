"""Driving the plant from Python for analysis: steady-state dyno points, coast-downs, runs.

`ReferenceEcu` is a stand-in for the engine controller, for analysis and the plants' own
tests only (the bench runs the real controllers over CAN): fuel for a lambda target from the
true air charge, spark at MBT bounded by the knock-limited spark, a PI wastegate on boost,
fuel cut above the redline. It reads true plant quantities, which a real ECU cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import R_AIR


@dataclass
class ReferenceEcu:
    lambda_target: float = 1.0
    spark_margin_deg: float = 2.0          # below the knock-limited spark
    spark_offset_deg: float | None = None  # fixed offset from MBT instead (knock allowed)
    boost_target_kpa: float = 210.0
    wg_kp_pct_per_kpa: float = 4.0
    wg_ki_pct_per_kpa_s: float = 6.0
    redline_rpm: float | None = None
    _wg_i: float = 50.0
    _cut: bool = False

    def __call__(self, plant, dt: float) -> None:
        o = plant.outputs
        u = plant.inputs
        e = plant.params.engine
        rpm = o["engine.speed_rpm"]
        # air charge per cylinder from the true speed-density state
        eng = plant.engine
        m_air = eng.vol_eff * eng.p_im_pa * eng.vd_m3 / (e.n_cyl * R_AIR * plant.turbo.t_ic_k)
        u["ecu.fuel_mass_mg"] = m_air / (e.afr_stoich * self.lambda_target) * 1e6
        if self.spark_offset_deg is not None:
            u["ecu.spark_advance_deg"] = o["engine.mbt_spark_deg"] + self.spark_offset_deg
        else:
            u["ecu.spark_advance_deg"] = min(o["engine.mbt_spark_deg"],
                                             o["engine.knock_limited_spark_deg"] - self.spark_margin_deg)
        red = self.redline_rpm or e.redline_rpm
        if rpm > red:
            self._cut = True
        elif rpm < red - 200.0:
            self._cut = False
        u["ecu.fuel_cut"] = 1.0 if self._cut else 0.0
        err = o["turbo.boost_pressure_kpa"] - self.boost_target_kpa
        self._wg_i = min(max(self._wg_i + self.wg_ki_pct_per_kpa_s * err * dt, 0.0), 100.0)
        u["ecu.wastegate_cmd_pct"] = min(max(self._wg_i + self.wg_kp_pct_per_kpa * err, 0.0), 100.0)


def run(plant, seconds: float, ecu=None, dt: float = 1e-3, every: int = 0, record=()):
    """Step `seconds`; with `every` > 0, return {name: [values]} sampled every N steps."""
    n = int(round(seconds / dt))
    rec: dict[str, list[float]] = {k: [] for k in record}
    out = plant.outputs
    for i in range(n):
        if ecu is not None:
            ecu(plant, dt)
        plant.step(dt, plant.inputs)
        if every and i % every == 0:
            for k in record:
                rec[k].append(out[k])
    return rec if every else None


def dyno_point(plant, speed_rpm: float, throttle_pct: float | None = None,
               manifold_pressure_kpa: float | None = None, ecu=None, seconds: float = 3.0) -> dict:
    """Steady operating point on the dyno: hold speed; throttle given, or found for a MAP.

    Returns a copy of the outputs at the end. With `manifold_pressure_kpa` the throttle is
    trimmed by an integral loop on the true manifold pressure (and the reference ECU's
    boost target follows it).
    """
    ecu = ecu or ReferenceEcu()
    plant.set_driver_mode("dyno", speed_rpm=speed_rpm)
    u = plant.inputs
    dt = 1e-3
    if manifold_pressure_kpa is None:
        u["driver.throttle_pct"] = 100.0 if throttle_pct is None else throttle_pct
        run(plant, seconds, ecu)
    else:
        if isinstance(ecu, ReferenceEcu):
            ecu.boost_target_kpa = max(manifold_pressure_kpa + 8.0, 105.0)
        thr = u["driver.throttle_pct"] = 30.0 if throttle_pct is None else throttle_pct
        for _ in range(int(seconds / dt)):
            ecu(plant, dt)
            err = manifold_pressure_kpa - plant.outputs["engine.manifold_pressure_kpa"]
            thr = min(max(thr + 4.0 * err * dt, 0.0), 100.0)
            u["driver.throttle_pct"] = thr
            plant.step(dt, u)
    return dict(plant.outputs)


def coast_down(plant, from_kph: float = 120.0, to_kph: float = 20.0, dt: float = 1e-3,
               max_s: float = 300.0) -> tuple[list[float], list[float]]:
    """Vehicle coast-down in neutral, engine off: (times [s], speeds [km/h]) every 0.1 s."""
    plant.set_driver_mode("manual")
    plant.set_state({"vehicle.speed_kph": from_kph, "engine.speed_rpm": 0.0})
    u = plant.inputs
    u.update({"driver.gear": 0.0, "driver.throttle_pct": 0.0, "driver.brake_pct": 0.0,
              "ecu.fuel_mass_mg": 0.0})
    ts, vs = [0.0], [from_kph]
    n = 0
    while plant.outputs["vehicle.speed_kph"] > to_kph and n * dt < max_s:
        plant.step(dt, u)
        n += 1
        if n % 100 == 0:
            ts.append(n * dt)
            vs.append(plant.outputs["vehicle.speed_kph"])
    return ts, vs
