"""An example plant class (docs/plants/contract.md shows this file): a naturally aspirated
engine on a dyno, mean-value, in a dozen equations. A rig names it with
``plant_class: example_plant:DynoEngine``; the bench needs nothing else from it than the
members below."""

from __future__ import annotations

import math

from plants.errors import PlantError, unknown_name
from plants.faults import FaultMode, FaultParam

R_AIR = 287.05            # J/(kg K)
AFR_STOICH = 14.7
PARAMS = {"engine.displacement_l": 2.0, "engine.cylinders": 4.0, "engine.ve": 0.78,
          "engine.map_tau_s": 0.05, "engine.speed_tau_s": 0.3}
FAULTS = {"intake": {"leak": FaultMode("leak", (FaultParam(
    "extra_air_pct", "%", 0.0, 50.0, required=True,
    doc="unmetered air after the throttle, % of the metered air"),),
    doc="a vacuum leak: more air than the ECU's speed-density model sees")}}


class DynoEngine:
    input_names = ("ecu.fuel_mass_mg", "ecu.spark_advance_deg", "ecu.fuel_cut",
                   "ecu.spark_cut", "driver.throttle_pct", "dyno.speed_rpm",
                   "ambient.temp_c")
    output_names = ("engine.speed_rpm", "engine.manifold_pressure_kpa", "engine.air_mass_mg",
                    "engine.lambda", "engine.coolant_temp_c", "intake.air_temp_c",
                    "ambient.pressure_kpa", "engine.knock_intensity")
    param_names = tuple(PARAMS)

    def __init__(self, params: str | None = None, overrides: dict | None = None,
                 seed: int = 0, coolant_c: float = 90.0) -> None:
        if params is not None:
            raise PlantError(f"DynoEngine has no parameter sets (got {params!r})")
        self.p = dict(PARAMS)
        for name, value in (overrides or {}).items():
            if name not in PARAMS:
                raise unknown_name("parameter", name, PARAMS)
            self.p[name] = float(value)
        self.coolant_c = float(coolant_c)
        self.inputs = {"ecu.fuel_mass_mg": 0.0, "ecu.spark_advance_deg": 10.0,
                       "ecu.fuel_cut": 0.0, "ecu.spark_cut": 0.0, "driver.throttle_pct": 0.0,
                       "dyno.speed_rpm": 2000.0, "ambient.temp_c": 25.0}
        self.outputs = dict.fromkeys(self.output_names, 0.0)
        self.leak = 0.0
        self.set_state()

    def set_state(self, **values: float) -> None:
        for name in values:
            if name not in ("engine.speed_rpm", "engine.manifold_pressure_kpa"):
                raise unknown_name("state", name, ("engine.speed_rpm", "engine.manifold_pressure_kpa"))
        self.rpm = float(values.get("engine.speed_rpm", self.inputs["dyno.speed_rpm"]))
        self.map_kpa = float(values.get("engine.manifold_pressure_kpa", 35.0))

    def set_driver_mode(self, mode: str, **cfg: float) -> None:
        if mode != "dyno" or set(cfg) - {"speed_rpm"}:
            raise PlantError(f"DynoEngine runs only in mode 'dyno' (speed_rpm:), not {mode!r}")
        if "speed_rpm" in cfg:
            self.inputs["dyno.speed_rpm"] = float(cfg["speed_rpm"])

    def step(self, dt: float, inputs: dict | None = None) -> dict:
        u = self.inputs if inputs is None else inputs
        p = self.p
        self.rpm += (u["dyno.speed_rpm"] - self.rpm) * dt / (p["engine.speed_tau_s"] + dt)
        map_target = min(20.0 + 0.8 * u["driver.throttle_pct"], 100.0)
        self.map_kpa += (map_target - self.map_kpa) * dt / (p["engine.map_tau_s"] + dt)
        t_k = u["ambient.temp_c"] + 273.15
        v_cyl = p["engine.displacement_l"] * 1e-3 / p["engine.cylinders"]
        air_mg = p["engine.ve"] * self.map_kpa * 1e3 * v_cyl / (R_AIR * t_k) * 1e6
        air_mg *= 1.0 + 0.01 * self.leak
        fuel = 0.0 if u["ecu.fuel_cut"] >= 0.5 else u["ecu.fuel_mass_mg"]
        lam = min(air_mg / (AFR_STOICH * fuel), 2.5) if fuel > 0.0 else 2.5
        o = self.outputs
        o["engine.speed_rpm"] = self.rpm
        o["engine.manifold_pressure_kpa"] = self.map_kpa
        o["engine.air_mass_mg"] = air_mg
        o["engine.lambda"] = lam if math.isfinite(lam) else 2.5
        o["engine.coolant_temp_c"] = self.coolant_c
        o["intake.air_temp_c"] = u["ambient.temp_c"]
        o["ambient.pressure_kpa"] = 101.3
        o["engine.knock_intensity"] = 0.0
        return o

    def fault_modes(self) -> dict:
        return FAULTS

    def inject_fault(self, target: str, mode: str, **params: float) -> None:
        if target not in FAULTS:
            raise unknown_name("fault target", target, FAULTS)
        self.leak = float(params["extra_air_pct"])

    def clear_fault(self, target: str) -> None:
        if target not in FAULTS:
            raise unknown_name("fault target", target, FAULTS)
        self.leak = 0.0

    def active_faults(self) -> dict:
        return {"intake": "leak"} if self.leak else {}
