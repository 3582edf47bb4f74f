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
from .engine import T0_K, Engine
from .errors import PlantError, unknown_name
from .exhaust import Exhaust, egt_steady_k
from .faults import PART_FAULTS, SENSOR_FAULTS, FaultMode
from .health import PartHealth
from .params import PlantParams
from .sensors import SPECS, Sensor
from .turbo import RAD_S_TO_RPM, Turbo
from .vehicle import G

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
        self.turbo = Turbo(params.turbo)
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
        self._tv = {}                       # true values the slow sensors read
        self._n_slow = params.sensors.slow_period_steps
        self._ratios = [r * vp.final_drive for r in vp.gear_ratios]
        self._wb = vp.l_front_m + vp.l_rear_m
        self.mode = "manual"
        self._road_profile = None
        self._road_loop = False
        self._dyno_ramp = 3000.0
        self._mode_t0 = 0.0
        self.steps = 0
        self.time_s = 0.0
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
        cool = float(values.get("engine.coolant_temp_c", 85.0))
        oil = float(values.get("engine.oil_temp_c", cool))
        rpm = float(values.get("engine.speed_rpm", p.engine.idle_rpm))
        p_im = float(values.get("engine.manifold_pressure_kpa", 35.0 if rpm > 0 else p_amb * 1e-3)) * 1e3
        self.engine.reset(p_im, cool, oil)
        self.turbo.reset(p_amb, amb_k)
        self.turbo.omega = float(values.get("turbo.speed_rpm", 0.0)) / RAD_S_TO_RPM
        if "intake.air_temp_c" in values:
            self.turbo.t_ic_k = float(values["intake.air_temp_c"]) + T0_K
        self.exhaust.reset(amb_k)
        self.exhaust.egt_k = float(values.get("exhaust.egt_c", cool if rpm > 0 else amb_k - T0_K)) + T0_K
        self.exhaust.cat_k = float(values.get("exhaust.catalyst_temp_c", amb_k - T0_K if cool < 40 else 400.0)) + T0_K
        self.omega_e = rpm / RAD_S_TO_RPM
        self.v_mps = float(values.get("vehicle.speed_kph", 0.0)) / 3.6
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
        o["vehicle.speed_kph"] = self.v_mps * 3.6
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
            self._dyno_ramp = float(cfg.get("ramp_rpm_per_s", 3000.0))
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
        u = self.inputs if inputs is None else inputs
        if inputs is not None and inputs is not self.inputs and len(inputs) != len(INPUT_DEFAULTS):
            self.check_inputs(inputs)
            full = dict(self.inputs)
            full.update(inputs)
            u = full
        if not dt > 0.0:
            raise PlantError(f"step size must be > 0, got {dt}")
        prm = self.params
        vp = prm.vehicle
        eng = self.engine
        tur = self.turbo
        exh = self.exhaust
        hl = self.health
        o = self.outputs
        n_slow = self._n_slow
        k = self.steps
        slow = (k % n_slow == 0) or not self._initialised
        t = self.time_s
        t_amb_k = u["ambient.temp_c"] + T0_K
        p_amb = u["ambient.pressure_kpa"] * 1e3
        mode = self.mode
        dts = dt * n_slow

        # ---- driver ------------------------------------------------------------------
        lat = 0.0
        if mode == "manual" or mode == "dyno":
            thr = u["driver.throttle_pct"]
            brk = u["driver.brake_pct"] if mode == "manual" else 0.0
            g = int(u["driver.gear"]) if mode == "manual" else 0
            drs_req = u["driver.drs_request"]
            v_target = -1.0
            seg = 0
        else:
            dr = self.driver
            if mode == "track":
                seg = self._last_segment
                if slow:
                    v_target, seg = self.track.target_speed(self.distance_m, prm.driver.brake_decel_g * G)
                    if seg < self._last_segment:
                        self.lap += 1
                    self._last_segment = seg
                    dr.step(dts, v_target, self.v_mps, self.omega_e * RAD_S_TO_RPM, self.track.segs[seg][4])
                    self._v_target = v_target
                v_target = self._v_target
                r = self.track.segs[seg][3]
                if r > 0.0:
                    lat = self.v_mps * self.v_mps / r / G
            else:
                seg = 0
                if slow:
                    v_target = self._road_target(t - self._mode_t0)
                    dr.step(dts, v_target, self.v_mps, self.omega_e * RAD_S_TO_RPM, False)
                    self._v_target = v_target
                v_target = self._v_target
            thr, brk, g, drs_req = dr.throttle, dr.brake, dr.gear, dr.drs
        n_g = len(self._ratios)
        g = 0 if g < 0 else (n_g if g > n_g else g)
        self.gear_state = g

        # ---- engine and turbo ----------------------------------------------------------
        rpm = self.omega_e * RAD_S_TO_RPM
        eng.step(dt, rpm, thr, tur.p_boost_pa, tur.t_ic_k, tur.p_em_pa,
                 u["ecu.fuel_mass_mg"], u["ecu.spark_advance_deg"], u["ecu.fuel_cut"],
                 u["ecu.spark_cut"], hl.injectors.value, hl.knock_sensor.value, mode != "dyno")
        w_air = eng.air_flow_kg_s
        w_exh = w_air + eng.fuel_flow_kg_s
        tur.wg_fault = hl.wastegate
        tur.step(dt, eng.throttle_flow_kg_s, w_exh, exh.egt_k, p_amb, t_amb_k, eng.p_im_pa,
                 u["ecu.wastegate_cmd_pct"], hl.turbo.value)
        lam_s = exh.lambda_sensor(dt, eng.lam, w_exh)

        # ---- brakes, DRS, aero ----------------------------------------------------------
        pb_cmd = brk * 0.01 * vp.brake_max_bar
        pb_cmd = 0.0 if pb_cmd < 0.0 else pb_cmd
        self.brake_bar += (pb_cmd - self.brake_bar) * dt / (vp.brake_tau_s + dt)
        drs_cmd = 1.0 if u["ecu.drs_cmd"] >= 0.5 else 0.0
        self.drs_pos += (drs_cmd - self.drs_pos) * dt / (vp.drs_tau_s + dt)
        v = self.v_mps
        rho = vp.rho_override_kg_m3 or p_amb / (287.05 * t_amb_k)
        qd = 0.5 * rho * v * v
        drs = self.drs_pos
        drag = qd * vp.cda_m2 * (1.0 - vp.drs_drag_factor * drs)
        df_f = qd * vp.cla_front_m2
        df_r = qd * vp.cla_rear_m2 * (1.0 - vp.drs_rear_downforce_factor * drs)
        m = vp.mass_kg
        dfz = m * self.accel * vp.cog_height_m / self._wb
        fz_f = m * G * vp.l_rear_m / self._wb + df_f - dfz
        fz_r = m * G * vp.l_front_m / self._wb + df_r + dfz
        fz_f = 0.0 if fz_f < 0.0 else fz_f
        fz_r = 0.0 if fz_r < 0.0 else fz_r

        # ---- crank, clutch, driveline, vehicle ------------------------------------------
        te = eng.torque_nm
        je = prm.engine.inertia_kg_m2
        rw = vp.wheel_radius_m
        m_eq = m + vp.wheel_inertia_kg_m2 / (rw * rw)
        grade = u["road.grade_pct"] * 0.01
        f_res = drag + vp.crr * (m * G + df_f + df_r) * (1.0 if v > 0.01 else 0.0) + m * G * grade
        om = self.omega_e
        tc = 0.0
        slip = 0.0
        if mode == "dyno":
            target = u["dyno.speed_rpm"] / RAD_S_TO_RPM
            step_max = self._dyno_ramp / RAD_S_TO_RPM * dt
            d = target - om
            om = target if abs(d) <= step_max else om + (step_max if d > 0 else -step_max)
            f_drive = 0.0
        else:
            if g > 0:
                i = self._ratios[g - 1]
                jv = m_eq * rw * rw / (i * i)
                om_v = v * i / rw
                slip = om - om_v
                idle_w = prm.engine.idle_rpm / RAD_S_TO_RPM
                if om_v >= vp.clutch_launch_rpm / RAD_S_TO_RPM:
                    cap = vp.clutch_max_torque_nm
                else:
                    x = (om - idle_w) / ((vp.clutch_launch_rpm - prm.engine.idle_rpm) / RAD_S_TO_RPM)
                    cap = vp.clutch_max_torque_nm * (0.0 if x < 0.0 else (1.0 if x > 1.0 else x))
                c = vp.clutch_damping_nm_s
                s_new = (slip + dt * (te / je + f_res * rw / i / jv)) / (1.0 + dt * c * (1.0 / je + 1.0 / jv))
                tc = c * s_new
                tc = cap if tc > cap else (-cap if tc < -cap else tc)
                f_drive = tc * i * (vp.drivetrain_efficiency if tc > 0.0 else 1.0) / rw
            else:
                f_drive = 0.0
            om += dt * (te - tc) / je
            if om < 0.0:
                om = 0.0
        # traction limit of the driven axle
        fz_drv = fz_f if vp.driven_axle == "front" else fz_r
        lim = vp.tire_mu * fz_drv
        traction = 0.0
        if f_drive > lim:
            f_drive = lim
            traction = 1.0
        elif f_drive < -lim:
            f_drive = -lim
            traction = 1.0
        f_b = vp.brake_force_n_per_bar * self.brake_bar
        lim_b = vp.tire_mu * (fz_f + fz_r)
        if f_b > lim_b:
            f_b = lim_b
        f_net = f_drive - f_res
        if v <= 0.01 and f_net <= f_b:
            a = 0.0
            v = 0.0
        else:
            a = (f_net - f_b) / m_eq
            v += a * dt
            if v < 0.0:
                v = 0.0
        if mode == "dyno":
            a = 0.0
            v = 0.0
        self.omega_e = om
        self.v_mps = v
        self.accel = a
        self.distance_m += v * dt
        rpm_new = om * RAD_S_TO_RPM

        # ---- slow rate: temperatures, health, slow sensors --------------------------------
        if slow:
            self._initialised = True
            tur.intercooler(dts, t_amb_k)
            eng.thermal(dts, t_amb_k, v, eng.friction_torque_nm * om, hl.cooling.value)
            egt_ss = egt_steady_k(prm.exhaust, tur.t_ic_k, eng.burned_fuel_kg_s, prm.engine.q_hv_j_per_kg,
                                  eng.eta_total, eng.eta_ign, prm.thermal.coolant_heat_fraction, w_exh, eng.lam)
            exh.thermal(dts, egt_ss, w_exh, tur.t_turb_out_k, t_amb_k,
                        eng.fuel_flow_kg_s - eng.burned_fuel_kg_s, prm.engine.q_hv_j_per_kg, eng.lam)
            hl.step(dts)
            o["engine.coolant_temp_c"] = eng.coolant_k - T0_K
            o["engine.oil_temp_c"] = eng.oil_k - T0_K
            o["intake.air_temp_c"] = tur.t_ic_k - T0_K
            o["turbo.compressor_out_temp_c"] = tur.t_c_out_k - T0_K
            o["exhaust.egt_c"] = exh.egt_k - T0_K
            o["exhaust.turbine_out_temp_c"] = tur.t_turb_out_k - T0_K
            o["exhaust.catalyst_temp_c"] = exh.cat_k - T0_K

        # ---- outputs -------------------------------------------------------------------------
        o["engine.speed_rpm"] = rpm_new
        o["engine.manifold_pressure_kpa"] = p_im_kpa = eng.p_im_pa * 1e-3
        o["engine.torque_nm"] = te
        o["engine.power_kw"] = te * om * 1e-3
        o["engine.air_flow_gps"] = w_air * 1e3
        o["engine.fuel_flow_gps"] = eng.fuel_flow_kg_s * 1e3
        o["engine.lambda"] = eng.lam
        o["engine.knock_intensity"] = eng.knock_true
        o["engine.knock_limited_spark_deg"] = eng.kls_deg
        o["engine.mbt_spark_deg"] = eng.mbt_deg
        o["engine.spark_efficiency"] = eng.eta_ign
        o["engine.throttle_pct"] = eng.throttle_pct
        o["engine.knock_events"] = eng.knock_events
        o["engine.rev_limiter_active"] = eng.rev_limiter
        o["turbo.boost_pressure_kpa"] = boost = tur.p_boost_pa * 1e-3
        o["turbo.speed_rpm"] = trpm = tur.omega * RAD_S_TO_RPM
        o["turbo.wastegate_pos_pct"] = tur.wg_pos * 100.0
        o["turbo.exhaust_manifold_pressure_kpa"] = tur.p_em_pa * 1e-3
        o["turbo.overspeed"] = 1.0 if trpm > prm.turbo.overspeed_rpm else 0.0
        o["exhaust.lambda_sensed"] = lam_s
        o["vehicle.speed_kph"] = vk = v * 3.6
        o["vehicle.accel_long_g"] = ag = a / G
        o["vehicle.accel_lat_g"] = lat
        o["vehicle.gear"] = g
        o["vehicle.front_axle_load_n"] = fz_f
        o["vehicle.rear_axle_load_n"] = fz_r
        o["vehicle.distance_m"] = self.distance_m
        o["vehicle.clutch_slip_rpm"] = slip * RAD_S_TO_RPM
        o["vehicle.traction_limited"] = traction
        o["aero.drag_n"] = drag
        o["aero.downforce_n"] = df_f + df_r
        o["aero.downforce_front_n"] = df_f
        o["aero.downforce_rear_n"] = df_r
        o["aero.drs_position"] = drs
        o["brake.pressure_bar"] = self.brake_bar
        o["driver.throttle_pct"] = thr
        o["driver.brake_pct"] = brk
        o["driver.target_speed_kph"] = v_target * 3.6 if v_target >= 0.0 else -1.0
        o["track.segment"] = seg
        o["track.lap"] = self.lap

        s_rpm, s_map, s_boost, s_lam, s_knock = self._fast_sensors
        o["sensor.engine_speed_rpm"] = s_rpm.read(rpm_new, dt, t)
        o["sensor.manifold_pressure_kpa"] = s_map.read(p_im_kpa, dt, t)
        o["sensor.boost_pressure_kpa"] = s_boost.read(boost, dt, t)
        o["sensor.lambda"] = s_lam.read(lam_s, dt, t)
        o["sensor.knock_intensity"] = s_knock.read(eng.knock_signal, dt, t)
        if slow:
            tv = self._tv
            tv.update(o)
            tv["vehicle.speed_kph"] = vk
            tv["vehicle.accel_long_g"] = ag
            tv["driver.drs_request_true"] = drs_req
            tv["health.turbo_true"] = hl.turbo_pct()
            tv["health.injector_true"] = 100.0 * hl.injectors.value
            tv["health.knock_sensor_true"] = 100.0 * hl.knock_sensor.value
            tv["health.cooling_true"] = 100.0 * hl.cooling.value
            for s, name, src in self._slow_sensors:
                o[name] = s.read(tv[src], dts, t)
        self.steps = k + 1
        self.time_s = (k + 1) * dt
        return o

    def _road_target(self, t: float) -> float:
        prof = self._road_profile
        if self._road_loop and len(prof) > 1:
            t = prof[0][0] + (t - prof[0][0]) % (prof[-1][0] - prof[0][0])
        if t <= prof[0][0]:
            return prof[0][1] / 3.6
        for (t0, v0), (t1, v1) in zip(prof, prof[1:], strict=False):
            if t <= t1:
                return (v0 + (v1 - v0) * (t - t0) / (t1 - t0)) / 3.6
        return prof[-1][1] / 3.6




