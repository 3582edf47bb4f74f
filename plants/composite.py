"""The composite plant the bench steps: engine + turbo + exhaust + vehicle/aero + driver +
sensors + part health, with explicit inputs and named outputs (docs/interfaces.md).

Numerics (docs/plants/composite.md): fixed step (the bench uses 1 ms). Fast states
(manifold pressure: linearised implicit Euler; crank and driveline: clutch slip implicit,
the rest explicit Euler; boost, wastegate, throttle, lambda sensor: exact or backward-Euler
first-order updates) run every step. Slow states (temperatures, catalyst, intercooler,
driver model, part health, slow sensors) run every `sensors.slow_period_steps` steps with
the matching step, where their time constants (>= 0.2 s) make that exact enough.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .driver import Driver, Track
from .engine import T0_K, Engine, EngineInputs
from .errors import PlantError, unknown_name
from .exhaust import Exhaust, egt_steady_k
from .faults import PART_FAULTS, SENSOR_FAULTS, FaultMode
from .health import PartHealth
from .params import PlantParams
from .sensors import SPECS, Sensor
from .turbo import RAD_S_TO_RPM, Turbo
from .vehicle import G, uses_coastdown

INPUT_DEFAULTS = {
    "ecu.fuel_mass_mg": 0.0,          # mg per cylinder per cycle (DBC FuelMass)
    "ecu.spark_advance_deg": 10.0,    # deg BTDC
    "ecu.fuel_cut": 0.0,
    "ecu.spark_cut": 0.0,
    "ecu.wastegate_cmd_pct": 100.0,   # 0 closed .. 100 open: open is the safe default
    "ecu.drs_cmd": 0.0,
    "driver.throttle_pct": 0.0,
    "driver.brake_pct": 0.0,
    "driver.gear": 0.0,
    "driver.drs_request": 0.0,
    "dyno.speed_rpm": 2000.0,
    "ambient.temp_c": 25.0,
    "ambient.pressure_kpa": 101.325,
    "road.grade_pct": 0.0,            # road gradient, + uphill
}
INPUT_NAMES = tuple(INPUT_DEFAULTS)

KPH_PER_MPS = 3.6
R_DRY_AIR = 287.05                    # J/(kg K): air density from ambient p and T
STANDSTILL_MPS = 0.01                 # below: no rolling resistance, the brakes hold the car
DRS_CMD_OPEN = 0.5                    # ecu.drs_cmd at or above this opens the flap
DEFAULT_DYNO_RAMP_RPM_PER_S = 3000.0
# set_state defaults: a warm engine idling
WARM_COOLANT_C = 85.0
IDLE_MANIFOLD_KPA = 35.0
COLD_ENGINE_C = 40.0                  # coolant below this: the catalyst starts at ambient
WARM_CATALYST_C = 400.0

TRUE_FAST = (
    "engine.speed_rpm", "engine.manifold_pressure_kpa", "engine.torque_nm", "engine.power_kw",
    "engine.air_flow_gps", "engine.fuel_flow_gps", "engine.lambda", "engine.knock_intensity",
    "engine.knock_limited_spark_deg", "engine.mbt_spark_deg", "engine.spark_efficiency",
    "engine.throttle_pct", "engine.knock_events", "engine.rev_limiter_active",
    "turbo.boost_pressure_kpa", "turbo.speed_rpm", "turbo.wastegate_pos_pct",
    "turbo.exhaust_manifold_pressure_kpa", "turbo.overspeed",
    "exhaust.lambda_sensed",
    "vehicle.speed_kph", "vehicle.accel_long_g", "vehicle.accel_lat_g", "vehicle.gear",
    "vehicle.front_axle_load_n", "vehicle.rear_axle_load_n", "vehicle.distance_m",
    "vehicle.clutch_slip_rpm", "vehicle.traction_limited",
    "aero.drag_n", "aero.downforce_n", "aero.downforce_front_n", "aero.downforce_rear_n",
    "aero.drs_position", "brake.pressure_bar",
    "driver.throttle_pct", "driver.brake_pct", "driver.target_speed_kph",
    "track.segment", "track.lap",
)
TRUE_SLOW = (
    "engine.coolant_temp_c", "engine.oil_temp_c", "intake.air_temp_c",
    "turbo.compressor_out_temp_c", "exhaust.egt_c", "exhaust.turbine_out_temp_c",
    "exhaust.catalyst_temp_c",
)
OUTPUT_NAMES = TRUE_FAST + TRUE_SLOW + tuple(s.name for s in SPECS)

STATE_NAMES = ("engine.speed_rpm", "engine.coolant_temp_c", "engine.oil_temp_c",
               "engine.manifold_pressure_kpa", "vehicle.speed_kph", "vehicle.gear",
               "vehicle.distance_m", "turbo.speed_rpm", "exhaust.egt_c",
               "exhaust.catalyst_temp_c", "intake.air_temp_c")
DRIVER_MODES = ("manual", "dyno", "road", "track")
_MODE_CFG = {"manual": (), "dyno": ("speed_rpm", "ramp_rpm_per_s"), "road": ("profile", "loop"),
             "track": ("segments",)}


class CompositePlant:
    """One vehicle with a turbocharged SI engine; see docs/plants/composite.md."""

    input_names = INPUT_NAMES
    output_names = OUTPUT_NAMES

    def __init__(self, params: PlantParams, seed: int = 0) -> None:
        self.params = params
        self.seed = seed
        noise = np.random.default_rng(seed).standard_normal(1 << 16).tolist()
        self._noise = noise
        self.engine = Engine(params.engine, params.thermal, noise)
        self._engine_inputs = EngineInputs()
        self.turbo = Turbo(params.turbo, params.exhaust.cp_exh_j_per_kg_k)
        self.exhaust = Exhaust(params.exhaust)
        self.health = PartHealth()
        vp = params.vehicle
        self.driver = Driver(params.driver, len(vp.gear_ratios))
        self.track = Track(params.driver.track, params.driver.lateral_mu)
        self.sensors = [Sensor(s, noise, 997 * (i + 1) + 13 * seed, params.sensors.noise_scale)
                        for i, s in enumerate(SPECS)]
        self._sensor_by_name = {s.spec.name: s for s in self.sensors}
        self._fast_sensors = self.sensors[:5]
        self._slow_sensors = [(s, s.spec.name, s.spec.source) for s in self.sensors[5:]]
        self.inputs = dict(INPUT_DEFAULTS)
        self.outputs = dict.fromkeys(OUTPUT_NAMES, 0.0)
        self._tv: dict[str, float] = {}     # true values the slow sensors read
        self._n_slow = params.sensors.slow_period_steps
        self._ratios = [r * vp.final_drive for r in vp.gear_ratios]
        self._wb = vp.l_front_m + vp.l_rear_m
        self._coastdown = uses_coastdown(vp)
        self.mode = "manual"
        self._road_profile: list[tuple[float, float]] = []  # set by road mode
        self._road_loop = False
        self._dyno_ramp = DEFAULT_DYNO_RAMP_RPM_PER_S
        self._mode_t0 = 0.0
        self._v_target = -1.0               # driver model's target speed [m/s], -1: none
        self._drs_request = 0.0
        self.steps = 0
        self.time_s = 0.0
        # A replacement of the road-load model (plants/fmu.py FmuPart, "road_load" slot):
        # part(time_s, dt, road_load_n, drag_n) -> (road_load_n, drag_n). None: built-in.
        self.road_load_part = None
        self.set_state()

    # ------------------------------------------------------------------ public API
    def set_state(self, initial: dict | None = None, **kw) -> None:
        """Initial conditions; defaults: warm engine idling, vehicle at rest in neutral."""
        values = dict(initial or {})
        values.update(kw)
        for k in values:
            if k not in STATE_NAMES:
                raise unknown_name("state", k, STATE_NAMES)
        p = self.params
        amb_k = self.inputs["ambient.temp_c"] + T0_K
        p_amb = self.inputs["ambient.pressure_kpa"] * 1e3
        cool = float(values.get("engine.coolant_temp_c", WARM_COOLANT_C))
        oil = float(values.get("engine.oil_temp_c", cool))
        rpm = float(values.get("engine.speed_rpm", p.engine.idle_rpm))
        p_im = float(values.get("engine.manifold_pressure_kpa",
                                IDLE_MANIFOLD_KPA if rpm > 0 else p_amb * 1e-3)) * 1e3
        self.engine.reset(p_im, cool, oil)
        self.turbo.reset(p_amb, amb_k)
        self.turbo.omega = float(values.get("turbo.speed_rpm", 0.0)) / RAD_S_TO_RPM
        if "intake.air_temp_c" in values:
            self.turbo.t_ic_k = float(values["intake.air_temp_c"]) + T0_K
        self.exhaust.reset(amb_k)
        self.exhaust.egt_k = float(values.get("exhaust.egt_c", cool if rpm > 0 else amb_k - T0_K)) + T0_K
        cat_c = amb_k - T0_K if cool < COLD_ENGINE_C else WARM_CATALYST_C
        self.exhaust.cat_k = float(values.get("exhaust.catalyst_temp_c", cat_c)) + T0_K
        self.omega_e = rpm / RAD_S_TO_RPM
        self.v_mps = float(values.get("vehicle.speed_kph", 0.0)) / KPH_PER_MPS
        self.distance_m = float(values.get("vehicle.distance_m", 0.0))
        self.gear_state = int(values.get("vehicle.gear", 0))
        self.driver.reset()
        if self.gear_state > 0:
            self.driver.gear = self.gear_state
        self.accel = 0.0
        self.drs_pos = 0.0
        self.brake_bar = 0.0
        self.lap = 0
        self._last_segment = 0
        self._initialised = False
        o = self.outputs
        o["engine.speed_rpm"] = rpm
        o["vehicle.speed_kph"] = self.v_mps * KPH_PER_MPS
        o["vehicle.distance_m"] = self.distance_m
        o["vehicle.gear"] = self.gear_state
        o["engine.coolant_temp_c"] = cool
        o["engine.oil_temp_c"] = oil
        o["engine.manifold_pressure_kpa"] = p_im * 1e-3
        o["turbo.speed_rpm"] = self.turbo.omega * RAD_S_TO_RPM
        for s in self.sensors:
            s.state = None

    def set_driver_mode(self, mode: str, **cfg) -> None:
        """'manual' | 'dyno' (speed_rpm) | 'road' (profile=[(t_s, kph)...], loop) | 'track' (segments)."""
        if mode not in DRIVER_MODES:
            raise unknown_name("driver mode", mode, DRIVER_MODES)
        for k in cfg:
            if k not in _MODE_CFG[mode]:
                raise unknown_name(f"option of driver mode {mode!r}", k, _MODE_CFG[mode] or ["(none)"])
        if mode == "dyno":
            if "speed_rpm" in cfg:
                self.inputs["dyno.speed_rpm"] = float(cfg["speed_rpm"])
            self._dyno_ramp = float(cfg.get("ramp_rpm_per_s", DEFAULT_DYNO_RAMP_RPM_PER_S))
            self.gear_state = 0
            self.v_mps = 0.0
        elif mode == "road":
            prof = [(float(t), float(v)) for t, v in cfg.get("profile", [])]
            if len(prof) < 1 or any(b[0] <= a[0] for a, b in zip(prof, prof[1:], strict=False)):
                raise PlantError("road mode needs profile=[(t_s, speed_kph), ...] with rising times")
            self._road_profile = prof
            self._road_loop = bool(cfg.get("loop", False))
        elif mode == "track":
            if "segments" in cfg:
                self.track = Track(cfg["segments"], self.params.driver.lateral_mu)
            self.lap = 0
        if mode in ("road", "track"):
            self.driver.reset()
            g = max(1, self.gear_state)
            self.driver.gear = g
        self.mode = mode
        self._mode_t0 = self.time_s

    def fault_modes(self) -> dict[str, Mapping[str, FaultMode]]:
        """Every fault target (parts, then sensors) -> its modes and their parameters."""
        out = dict(PART_FAULTS)
        for s in self.sensors:
            out[s.spec.name] = SENSOR_FAULTS
        return out

    def _resolve_target(self, target: str) -> str:
        if target in PART_FAULTS or target in self._sensor_by_name:
            return target
        if "sensor." + target in self._sensor_by_name:
            return "sensor." + target
        raise unknown_name("fault target", target, self.fault_modes())

    def inject_fault(self, target: str, mode: str, **params) -> None:
        target = self._resolve_target(target)
        if target in PART_FAULTS:
            self.health.inject(target, mode, **params)
        else:
            self._sensor_by_name[target].inject(mode, self.time_s, **params)

    def clear_fault(self, target: str) -> None:
        target = self._resolve_target(target)
        if target in PART_FAULTS:
            self.health.clear(target)
        else:
            self._sensor_by_name[target].clear()

    def active_faults(self) -> dict[str, str]:
        """{target: mode} of every fault now injected."""
        out = {s.spec.name: s.fault for s in self.sensors if s.fault}
        h = self.health
        if h.wastegate:
            out["turbo.wastegate"] = h.wastegate
        names = {"turbo": "efficiency_degraded", "injectors": "degraded", "cooling": "degraded"}
        for name, mode in names.items():
            if getattr(h, name).target != 1.0:
                out[name] = mode
        if h.knock_sensor.target != 1.0:
            out["knock_sensor"] = "dead" if h.knock_sensor.target == 0.0 else "degraded"
        return out

    def check_inputs(self, inputs: dict) -> None:
        """Validate input names (the fast step does not): unknown -> ValueError."""
        for k in inputs:
            if k not in INPUT_DEFAULTS:
                raise unknown_name("input", k, INPUT_NAMES)

    def set_inputs(self, **values) -> None:
        """Set inputs by name, validated: plant.set_inputs(**{"driver.throttle_pct": 50})."""
        self.check_inputs(values)
        for k, v in values.items():
            self.inputs[k] = float(v)

    # ------------------------------------------------------------------ the step
    def step(self, dt: float, inputs: dict | None = None) -> dict:
        """Advance the plant by `dt` [s] and return `self.outputs` (updated in place).

        Stages, in order (docs/plants/composite.md): who drives -> engine, turbo and the
        lambda sensor's gas path -> brakes, DRS, aero, axle loads and road load -> crank,
        clutch and vehicle motion -> (slow rate) temperatures and part health -> sensors.
        Each stage publishes the outputs it computes.
        """
        u = self.inputs if inputs is None else inputs
        if inputs is not None and inputs is not self.inputs and len(inputs) != len(INPUT_DEFAULTS):
            self.check_inputs(inputs)
            full = dict(self.inputs)
            full.update(inputs)
            u = full
        if not dt > 0.0:
            raise PlantError(f"step size must be > 0, got {dt}")
        k = self.steps
        slow = (k % self._n_slow == 0) or not self._initialised
        dt_slow = dt * self._n_slow
        t_amb_k = u["ambient.temp_c"] + T0_K
        p_amb_pa = u["ambient.pressure_kpa"] * 1e3

        throttle_pct, brake_pct, gear = self._drive(u, slow, dt_slow)
        w_exh = self._powertrain(dt, u, throttle_pct, p_amb_pa, t_amb_k)
        road_load_n, fz_front_n, fz_rear_n = self._chassis_forces(dt, u, brake_pct, p_amb_pa, t_amb_k)
        self._driveline(dt, u, gear, road_load_n, fz_front_n, fz_rear_n)
        if slow:
            self._slow_states(dt_slow, t_amb_k, w_exh)
        self._read_sensors(dt, slow, dt_slow)
        self.steps = k + 1
        self.time_s = (k + 1) * dt
        return self.outputs

    def _drive(self, u: dict, slow: bool, dt_slow: float) -> tuple[float, float, int]:
        """Who drives: the scenario's inputs (manual, dyno) or the driver model on the track
        or the road profile (at the slow rate). Returns (throttle %, brake %, gear) and
        publishes the driver's and the track's outputs."""
        mode = self.mode
        lat_g = 0.0
        if mode == "manual" or mode == "dyno":
            throttle = u["driver.throttle_pct"]
            brake = u["driver.brake_pct"] if mode == "manual" else 0.0
            gear = int(u["driver.gear"]) if mode == "manual" else 0
            self._drs_request = u["driver.drs_request"]
            v_target = -1.0
            segment = 0
        else:
            driver = self.driver
            rpm = self.omega_e * RAD_S_TO_RPM
            if mode == "track":
                track = self.track
                segment = self._last_segment
                if slow:
                    v_target, segment = track.target_speed(self.distance_m,
                                                           self.params.driver.brake_decel_g * G)
                    if segment < self._last_segment:
                        self.lap += 1
                    self._last_segment = segment
                    driver.step(dt_slow, v_target, self.v_mps, rpm, track.segs[segment].drs)
                    self._v_target = v_target
                radius = track.segs[segment].radius_m
                if radius > 0.0:
                    lat_g = self.v_mps * self.v_mps / radius / G
            else:
                segment = 0
                if slow:
                    v_target = self._road_target(self.time_s - self._mode_t0)
                    driver.step(dt_slow, v_target, self.v_mps, rpm, False)
                    self._v_target = v_target
            v_target = self._v_target
            throttle, brake, gear = driver.throttle, driver.brake, driver.gear
            self._drs_request = driver.drs
        n_gears = len(self._ratios)
        gear = 0 if gear < 0 else (n_gears if gear > n_gears else gear)
        self.gear_state = gear
        o = self.outputs
        o["driver.throttle_pct"] = throttle
        o["driver.brake_pct"] = brake
        o["driver.target_speed_kph"] = v_target * KPH_PER_MPS if v_target >= 0.0 else -1.0
        o["track.segment"] = segment
        o["track.lap"] = self.lap
        o["vehicle.accel_lat_g"] = lat_g
        o["vehicle.gear"] = gear
        return throttle, brake, gear

    def _powertrain(self, dt: float, u: dict, throttle_pct: float, p_amb_pa: float,
                    t_amb_k: float) -> float:
        """Engine and turbo at the crank speed of the step start, then the lambda sensor's
        gas path. Returns the exhaust mass flow [kg/s]; publishes engine and turbo outputs."""
        engine, turbo, exhaust, health = self.engine, self.turbo, self.exhaust, self.health
        ein = self._engine_inputs
        ein.speed_rpm = self.omega_e * RAD_S_TO_RPM
        ein.throttle_cmd_pct = throttle_pct
        ein.p_up_pa = turbo.p_boost_pa
        ein.t_im_k = turbo.t_ic_k
        ein.p_em_pa = turbo.p_em_pa
        ein.fuel_mg = u["ecu.fuel_mass_mg"]
        ein.spark_deg = u["ecu.spark_advance_deg"]
        ein.fuel_cut = u["ecu.fuel_cut"]
        ein.spark_cut = u["ecu.spark_cut"]
        ein.injector_factor = health.injectors.value
        ein.knock_sensitivity = health.knock_sensor.value
        ein.idle_control = self.mode != "dyno"
        engine.step(dt, ein)
        w_air = engine.air_flow_kg_s
        w_exh = w_air + engine.fuel_flow_kg_s
        turbo.wg_fault = health.wastegate
        turbo.step(dt, engine.throttle_flow_kg_s, w_exh, exhaust.egt_k, p_amb_pa, t_amb_k,  # w_air, w_exh, t_em_k, p_amb_pa, t_amb_k,
                   engine.p_im_pa, u["ecu.wastegate_cmd_pct"], health.turbo.value,     # p_im_pa, wg_cmd_pct, eff_factor
                   engine.throttle_pct)                                                # throttle_pct
        lam_sensed = exhaust.lambda_sensor(dt, engine.lam, w_exh)
        o = self.outputs
        o["engine.manifold_pressure_kpa"] = engine.p_im_pa * 1e-3
        o["engine.torque_nm"] = engine.torque_nm
        o["engine.air_flow_gps"] = w_air * 1e3
        o["engine.fuel_flow_gps"] = engine.fuel_flow_kg_s * 1e3
        o["engine.lambda"] = engine.lam
        o["engine.knock_intensity"] = engine.knock_true
        o["engine.knock_limited_spark_deg"] = engine.kls_deg
        o["engine.mbt_spark_deg"] = engine.mbt_deg
        o["engine.spark_efficiency"] = engine.eta_ign
        o["engine.throttle_pct"] = engine.throttle_pct
        o["engine.knock_events"] = engine.knock_events
        o["engine.rev_limiter_active"] = engine.rev_limiter
        o["turbo.boost_pressure_kpa"] = turbo.p_boost_pa * 1e-3
        o["turbo.speed_rpm"] = turbo_rpm = turbo.omega * RAD_S_TO_RPM
        o["turbo.wastegate_pos_pct"] = turbo.wg_pos * 100.0
        o["turbo.exhaust_manifold_pressure_kpa"] = turbo.p_em_pa * 1e-3
        o["turbo.overspeed"] = 1.0 if turbo_rpm > self.params.turbo.overspeed_rpm else 0.0
        o["exhaust.lambda_sensed"] = lam_sensed
        return w_exh

    def _chassis_forces(self, dt: float, u: dict, brake_pct: float, p_amb_pa: float,
                        t_amb_k: float) -> tuple[float, float, float]:
        """Brake pressure and DRS flap (first order), aero forces, axle loads (with the load
        transfer of the last step's acceleration) and the road load at the speed of the
        step start. Returns (road load, front axle load, rear axle load) [N]."""
        vp = self.params.vehicle
        pb_cmd = brake_pct * 0.01 * vp.brake_max_bar
        pb_cmd = 0.0 if pb_cmd < 0.0 else pb_cmd
        self.brake_bar += (pb_cmd - self.brake_bar) * dt / (vp.brake_tau_s + dt)
        drs_cmd = 1.0 if u["ecu.drs_cmd"] >= DRS_CMD_OPEN else 0.0
        self.drs_pos += (drs_cmd - self.drs_pos) * dt / (vp.drs_tau_s + dt)
        v = self.v_mps
        rho = vp.rho_override_kg_m3 or p_amb_pa / (R_DRY_AIR * t_amb_k)
        q = 0.5 * rho * v * v
        drs = self.drs_pos
        moving = 1.0 if v > STANDSTILL_MPS else 0.0
        if self._coastdown:           # A + B v + C v^2 replaces C_rr and CdA
            drag = vp.coastdown_c_n_per_mps2 * v * v * (1.0 - vp.drs_drag_factor * drs)
        else:
            drag = q * vp.cda_m2 * (1.0 - vp.drs_drag_factor * drs)
        df_front = q * vp.cla_front_m2
        df_rear = q * vp.cla_rear_m2 * (1.0 - vp.drs_rear_downforce_factor * drs)
        m = vp.mass_kg
        transfer = m * self.accel * vp.cog_height_m / self._wb
        fz_front = m * G * vp.l_rear_m / self._wb + df_front - transfer
        fz_rear = m * G * vp.l_front_m / self._wb + df_rear + transfer
        fz_front = 0.0 if fz_front < 0.0 else fz_front
        fz_rear = 0.0 if fz_rear < 0.0 else fz_rear
        grade = u["road.grade_pct"] * 0.01
        if self._coastdown:
            rolling = (vp.coastdown_a_n + vp.coastdown_b_n_per_mps * v) * moving
        else:
            rolling = vp.crr * (m * G + df_front + df_rear) * moving
        road_load = drag + rolling + m * G * grade
        if self.road_load_part is not None:
            road_load, drag = self.road_load_part(self.time_s, dt, road_load, drag)
        o = self.outputs
        o["aero.drag_n"] = drag
        o["aero.downforce_n"] = df_front + df_rear
        o["aero.downforce_front_n"] = df_front
        o["aero.downforce_rear_n"] = df_rear
        o["aero.drs_position"] = drs
        o["brake.pressure_bar"] = self.brake_bar
        o["vehicle.front_axle_load_n"] = fz_front
        o["vehicle.rear_axle_load_n"] = fz_rear
        return road_load, fz_front, fz_rear

    def _driveline(self, dt: float, u: dict, gear: int, road_load_n: float, fz_front_n: float,
                   fz_rear_n: float) -> None:
        """Crank speed (imposed by the dyno, or engine torque against the clutch), traction
        and brake limits, and the vehicle's longitudinal motion; publishes their outputs."""
        vp = self.params.vehicle
        torque = self.engine.torque_nm
        rw = vp.wheel_radius_m
        m = vp.mass_kg
        m_eq = m + vp.wheel_inertia_kg_m2 / (rw * rw)
        om = self.omega_e
        v = self.v_mps
        tc = 0.0
        slip = 0.0
        dyno = self.mode == "dyno"
        if dyno:
            target = u["dyno.speed_rpm"] / RAD_S_TO_RPM
            step_max = self._dyno_ramp / RAD_S_TO_RPM * dt
            d = target - om
            om = target if abs(d) <= step_max else om + (step_max if d > 0 else -step_max)
            f_drive = 0.0
        else:
            if gear > 0:
                ratio = self._ratios[gear - 1]
                tc, slip = self._clutch(dt, ratio, torque, road_load_n, m_eq)
                f_drive = tc * ratio * (vp.drivetrain_efficiency if tc > 0.0 else 1.0) / rw
            else:
                f_drive = 0.0
            om += dt * (torque - tc) / self.params.engine.inertia_kg_m2
            if om < 0.0:
                om = 0.0
        # traction limit of the driven axle, brake force limit of both
        lim = vp.tire_mu * (fz_front_n if vp.driven_axle == "front" else fz_rear_n)
        traction = 0.0
        if f_drive > lim:
            f_drive = lim
            traction = 1.0
        elif f_drive < -lim:
            f_drive = -lim
            traction = 1.0
        f_brake = vp.brake_force_n_per_bar * self.brake_bar
        lim_brake = vp.tire_mu * (fz_front_n + fz_rear_n)
        if f_brake > lim_brake:
            f_brake = lim_brake
        f_net = f_drive - road_load_n
        if v <= STANDSTILL_MPS and f_net <= f_brake:      # at rest, held by the brakes
            a = 0.0
            v = 0.0
        else:
            a = (f_net - f_brake) / m_eq
            v += a * dt
            if v < 0.0:                                   # no rolling backwards
                v = 0.0
        if dyno:
            a = 0.0
            v = 0.0
        self.omega_e = om
        self.v_mps = v
        self.accel = a
        self.distance_m += v * dt
        o = self.outputs
        o["engine.speed_rpm"] = om * RAD_S_TO_RPM
        o["engine.power_kw"] = torque * om * 1e-3
        o["vehicle.speed_kph"] = v * KPH_PER_MPS
        o["vehicle.accel_long_g"] = a / G
        o["vehicle.distance_m"] = self.distance_m
        o["vehicle.clutch_slip_rpm"] = slip * RAD_S_TO_RPM
        o["vehicle.traction_limited"] = traction

    def _clutch(self, dt: float, ratio: float, torque_nm: float, road_load_n: float,
                m_eq: float) -> tuple[float, float]:
        """Launch clutch between crank and driveline: slip integrated implicitly (stable for
        any damping), torque capped by the capacity, which grows with engine speed above idle
        until the driveline turns the engine at clutch_launch_rpm. Returns (clutch torque
        [N m], slip at the step start [rad/s])."""
        vp = self.params.vehicle
        ep = self.params.engine
        rw = vp.wheel_radius_m
        je = ep.inertia_kg_m2
        om = self.omega_e
        jv = m_eq * rw * rw / (ratio * ratio)
        om_v = self.v_mps * ratio / rw
        slip = om - om_v
        if om_v >= vp.clutch_launch_rpm / RAD_S_TO_RPM:
            cap = vp.clutch_max_torque_nm
        else:
            idle_w = ep.idle_rpm / RAD_S_TO_RPM
            x = (om - idle_w) / ((vp.clutch_launch_rpm - ep.idle_rpm) / RAD_S_TO_RPM)
            cap = vp.clutch_max_torque_nm * (0.0 if x < 0.0 else (1.0 if x > 1.0 else x))
        c = vp.clutch_damping_nm_s
        s_new = (slip + dt * (torque_nm / je + road_load_n * rw / ratio / jv)) / (1.0 + dt * c * (1.0 / je + 1.0 / jv))
        tc = c * s_new
        tc = cap if tc > cap else (-cap if tc < -cap else tc)
        return tc, slip

    def _slow_states(self, dt_slow: float, t_amb_k: float, w_exh: float) -> None:
        """Every slow_period_steps steps, with their step: intercooler, coolant and oil,
        EGT and catalyst, part health (time constants >= 0.2 s)."""
        self._initialised = True
        prm = self.params
        engine, turbo, exhaust = self.engine, self.turbo, self.exhaust
        turbo.intercooler(dt_slow, t_amb_k)
        engine.thermal(dt_slow, t_amb_k, self.v_mps, engine.friction_torque_nm * self.omega_e,
                       self.health.cooling.value)
        egt_ss = egt_steady_k(prm.exhaust, turbo.t_ic_k, engine.burned_fuel_kg_s, prm.engine.q_hv_j_per_kg,
                              engine.eta_total, engine.eta_ign, prm.thermal.coolant_heat_fraction,
                              w_exh, engine.lam)
        exhaust.thermal(dt_slow, egt_ss, w_exh, turbo.t_turb_out_k, t_amb_k,
                        engine.fuel_flow_kg_s - engine.burned_fuel_kg_s, prm.engine.q_hv_j_per_kg,
                        engine.lam)
        self.health.step(dt_slow)
        o = self.outputs
        o["engine.coolant_temp_c"] = engine.coolant_k - T0_K
        o["engine.oil_temp_c"] = engine.oil_k - T0_K
        o["intake.air_temp_c"] = turbo.t_ic_k - T0_K
        o["turbo.compressor_out_temp_c"] = turbo.t_c_out_k - T0_K
        o["exhaust.egt_c"] = exhaust.egt_k - T0_K
        o["exhaust.turbine_out_temp_c"] = turbo.t_turb_out_k - T0_K
        o["exhaust.catalyst_temp_c"] = exhaust.cat_k - T0_K

    def _read_sensors(self, dt: float, slow: bool, dt_slow: float) -> None:
        """The five fast sensors every step, the others at the slow rate, from the true
        values just published (sensor times are those of the step start)."""
        o = self.outputs
        t = self.time_s
        s_rpm, s_map, s_boost, s_lam, s_knock = self._fast_sensors
        o["sensor.engine_speed_rpm"] = s_rpm.read(o["engine.speed_rpm"], dt, t)
        o["sensor.manifold_pressure_kpa"] = s_map.read(o["engine.manifold_pressure_kpa"], dt, t)
        o["sensor.boost_pressure_kpa"] = s_boost.read(o["turbo.boost_pressure_kpa"], dt, t)
        o["sensor.lambda"] = s_lam.read(o["exhaust.lambda_sensed"], dt, t)
        o["sensor.knock_intensity"] = s_knock.read(self.engine.knock_signal, dt, t)
        if slow:
            health = self.health
            tv = self._tv
            tv.update(o)
            tv["driver.drs_request_true"] = self._drs_request
            tv["health.turbo_true"] = health.turbo_pct()
            tv["health.injector_true"] = 100.0 * health.injectors.value
            tv["health.knock_sensor_true"] = 100.0 * health.knock_sensor.value
            tv["health.cooling_true"] = 100.0 * health.cooling.value
            for sensor, name, source in self._slow_sensors:
                o[name] = sensor.read(tv[source], dt_slow, t)

    def _road_target(self, t: float) -> float:
        prof = self._road_profile
        if self._road_loop and len(prof) > 1:
            t = prof[0][0] + (t - prof[0][0]) % (prof[-1][0] - prof[0][0])
        if t <= prof[0][0]:
            return prof[0][1] / KPH_PER_MPS
        for (t0, v0), (t1, v1) in zip(prof, prof[1:], strict=False):
            if t <= t1:
                return (v0 + (v1 - v0) * (t - t0) / (t1 - t0)) / KPH_PER_MPS
        return prof[-1][1] / KPH_PER_MPS
