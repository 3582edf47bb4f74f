"""A small engine double for the closed-loop tests of the controllers.

Honours the plant contract of docs/interfaces.md and the rig's signal map (sensor.*,
health.*, ecu.* names) with just enough physics for the controllers to matter: speed
held by a dyno, boost from throttle and wastegate (first order), speed-density air with
a VE 5 % above the calibration (so the lambda loop has work to do), lambda from fuel
with a first-order sensor, knock from spark beyond a knock limit. Used until (and
besides) the real plants: the controllers must close the loop with any plant.
"""

from __future__ import annotations

OUTPUTS = ("sensor.engine_speed_rpm", "sensor.manifold_pressure_kpa",
           "sensor.boost_pressure_kpa", "sensor.lambda", "sensor.knock_intensity", "sensor.gear",
           "sensor.throttle_pct", "sensor.vehicle_speed_kph", "sensor.brake_pressure_bar",
           "sensor.accel_long_g", "sensor.accel_lat_g", "sensor.coolant_temp_c",
           "sensor.oil_temp_c", "sensor.intake_air_temp_c", "sensor.egt_c",
           "sensor.turbo_speed_rpm", "driver.drs_request", "aero.drs_open", "health.turbo_pct",
           "health.injector_pct", "health.knock_sensor_pct", "health.cooling_pct")


class ToyEngine:
    input_names = ("ecu.fuel_mass_mg", "ecu.spark_advance_deg", "ecu.fuel_cut",
                   "ecu.spark_cut", "ecu.wastegate_cmd_pct", "ecu.drs_cmd",
                   "dyno.speed_rpm", "driver.throttle_pct", "driver.drs_request",
                   "fault.wastegate_stuck", "env.coolant_c")
    output_names = OUTPUTS

    def __init__(self, ve_error: float = 1.05) -> None:
        self.ve_error = ve_error
        self.inputs = dict.fromkeys(self.input_names, 0.0)
        self.inputs.update({"ecu.spark_advance_deg": 10.0, "ecu.wastegate_cmd_pct": 100.0,
                            "dyno.speed_rpm": 3000.0, "driver.throttle_pct": 20.0,
                            "env.coolant_c": 90.0})
        self.outputs = dict.fromkeys(OUTPUTS, 0.0)
        self.outputs.update({"sensor.lambda": 1.0, "sensor.boost_pressure_kpa": 100.0,
                             "sensor.manifold_pressure_kpa": 50.0, "sensor.gear": 3.0,
                             "sensor.vehicle_speed_kph": 100.0, "sensor.oil_temp_c": 100.0,
                             "sensor.intake_air_temp_c": 30.0, "sensor.egt_c": 700.0,
                             "health.turbo_pct": 100.0, "health.injector_pct": 100.0,
                             "health.knock_sensor_pct": 100.0, "health.cooling_pct": 100.0})

    def step(self, dt: float, u: dict) -> None:
        y = self.outputs
        rpm = u["dyno.speed_rpm"]
        thr = u["driver.throttle_pct"]
        wg = 0.0 if u["fault.wastegate_stuck"] else u["ecu.wastegate_cmd_pct"]
        boost_ss = 100.0 + 1.8 * (100.0 - wg) * (thr / 100.0) * min(1.0, rpm / 3000.0)
        y["sensor.boost_pressure_kpa"] += (boost_ss - y["sensor.boost_pressure_kpa"]) * dt / 0.3
        p_ss = 20.0 + (y["sensor.boost_pressure_kpa"] - 20.0) * min(1.0, thr / 60.0)
        y["sensor.manifold_pressure_kpa"] += (p_ss - y["sensor.manifold_pressure_kpa"]) * dt / 0.05
        p = y["sensor.manifold_pressure_kpa"]
        t_k = y["sensor.intake_air_temp_c"] + 273.15
        ve = self.ve_error * (0.6 + 0.3 * min(1.0, p / 100.0))
        air_mg = ve * p * 1e3 * 0.5e-3 / (287.05 * t_k) * 1e6
        fuel = 0.0 if u["ecu.fuel_cut"] >= 0.5 else u["ecu.fuel_mass_mg"]
        lam = 2.546 if fuel <= 0.1 else min(2.546, air_mg / (14.7 * fuel))
        y["sensor.lambda"] += (lam - y["sensor.lambda"]) * dt / 0.08
        kls = 50.0 - 0.17 * p + 6.0
        y["sensor.knock_intensity"] = min(5.1, max(0.0, 0.3 + (u["ecu.spark_advance_deg"] - kls) / 3.0))
        y["sensor.engine_speed_rpm"] = rpm
        y["sensor.throttle_pct"] = thr
        y["sensor.coolant_temp_c"] = u["env.coolant_c"]
        y["driver.drs_request"] = u["driver.drs_request"]
        y["aero.drs_open"] = u["ecu.drs_cmd"]
