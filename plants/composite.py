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

import operator
from collections.abc import Callable, Mapping

import numpy as np

from . import _jit
from ._jit import Field, IntField, array, array2d, compile_kernels, kernel
from .driver import (
    D_BRAKE,
    D_DRS,
    D_GEAR,
    D_THR,
    DRIVER_STATE,
    Driver,
    Track,
    driver_step,
    track_target,
)
from .engine import (
    E_AIR,
    E_BURN,
    E_COOL,
    E_ETA_IGN,
    E_ETA_TOT,
    E_FRIC,
    E_FUEL,
    E_KEV,
    E_KLS,
    E_KSIG,
    E_KTRUE,
    E_LAM,
    E_MBT,
    E_OIL,
    E_P_IM,
    E_REV,
    E_THF,
    E_THR,
    E_TQ,
    ENGINE_STATE,
    EP_QHV,
    T0_K,
    TH_FRAC,
    Engine,
    engine_step,
    engine_thermal,
)
from .errors import PlantError, unknown_name
from .exhaust import (
    EXHAUST_STATE,
    X_CAT,
    X_EGT,
    XP_NBUF,
    Exhaust,
    egt_steady,
    exhaust_lambda,
    exhaust_thermal,
)
from .faults import PART_FAULTS, SENSOR_FAULTS, FaultMode
from .health import H_COOL, H_INJ, H_KNOCK, H_WASTEGATE, PartHealth, health_step, health_turbo_pct
from .health import H_TURBO as H_TURBO_V
from .params import PlantParams
from .sensors import SENSOR_FIELDS, SPECS, Sensor, sensor_read, sensor_row
from .turbo import (
    RAD_S_TO_RPM,
    T_BOOST,
    T_C_OUT,
    T_IC,
    T_OMEGA,
    T_P_EM,
    T_TURB_OUT,
    T_WG,
    T_WG_FAULT,
    TP_OVERSPEED,
    TURBO_STATE,
    Turbo,
    turbo_intercooler,
    turbo_step,
)
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


_FAST_SENSORS = tuple(sp.name for sp in SPECS[:5])
_SLOW_SENSORS = tuple(sp.name for sp in SPECS[5:])
#: True values the sensors read that are no plant output.
_EXTRA_TRUE = ("engine.knock_signal", "driver.drs_request_true", "health.turbo_true",
               "health.injector_true", "health.knock_sensor_true", "health.cooling_true")
#: The kernels' output array: what changes every step first, then the slow outputs.
O_NAMES = TRUE_FAST + _FAST_SENSORS + TRUE_SLOW + _SLOW_SENSORS + _EXTRA_TRUE
_N_FAST = len(TRUE_FAST) + len(_FAST_SENSORS)
_N_OUT = len(OUTPUT_NAMES)
(O_ENGINE_SPEED_RPM, O_ENGINE_MANIFOLD_PRESSURE_KPA, O_ENGINE_TORQUE_NM, O_ENGINE_POWER_KW,
 O_ENGINE_AIR_FLOW_GPS, O_ENGINE_FUEL_FLOW_GPS, O_ENGINE_LAMBDA, O_ENGINE_KNOCK_INTENSITY,
 O_ENGINE_KNOCK_LIMITED_SPARK_DEG, O_ENGINE_MBT_SPARK_DEG, O_ENGINE_SPARK_EFFICIENCY,
 O_ENGINE_THROTTLE_PCT, O_ENGINE_KNOCK_EVENTS, O_ENGINE_REV_LIMITER_ACTIVE,
 O_TURBO_BOOST_PRESSURE_KPA, O_TURBO_SPEED_RPM, O_TURBO_WASTEGATE_POS_PCT,
 O_TURBO_EXHAUST_MANIFOLD_PRESSURE_KPA, O_TURBO_OVERSPEED, O_EXHAUST_LAMBDA_SENSED,
 O_VEHICLE_SPEED_KPH, O_VEHICLE_ACCEL_LONG_G, O_VEHICLE_ACCEL_LAT_G, O_VEHICLE_GEAR,
 O_VEHICLE_FRONT_AXLE_LOAD_N, O_VEHICLE_REAR_AXLE_LOAD_N, O_VEHICLE_DISTANCE_M,
 O_VEHICLE_CLUTCH_SLIP_RPM, O_VEHICLE_TRACTION_LIMITED, O_AERO_DRAG_N, O_AERO_DOWNFORCE_N,
 O_AERO_DOWNFORCE_FRONT_N, O_AERO_DOWNFORCE_REAR_N, O_AERO_DRS_POSITION, O_BRAKE_PRESSURE_BAR,
 O_DRIVER_THROTTLE_PCT, O_DRIVER_BRAKE_PCT, O_DRIVER_TARGET_SPEED_KPH, O_TRACK_SEGMENT,
 O_TRACK_LAP, O_SENSOR_ENGINE_SPEED_RPM, O_SENSOR_MANIFOLD_PRESSURE_KPA,
 O_SENSOR_BOOST_PRESSURE_KPA, O_SENSOR_LAMBDA, O_SENSOR_KNOCK_INTENSITY,
 O_ENGINE_COOLANT_TEMP_C, O_ENGINE_OIL_TEMP_C, O_INTAKE_AIR_TEMP_C,
 O_TURBO_COMPRESSOR_OUT_TEMP_C, O_EXHAUST_EGT_C, O_EXHAUST_TURBINE_OUT_TEMP_C,
 O_EXHAUST_CATALYST_TEMP_C) = range(len(TRUE_FAST) + len(_FAST_SENSORS) + len(TRUE_SLOW))
(O_ENGINE_KNOCK_SIGNAL, O_DRIVER_DRS_REQUEST_TRUE, O_HEALTH_TURBO_TRUE, O_HEALTH_INJECTOR_TRUE,
 O_HEALTH_KNOCK_SENSOR_TRUE, O_HEALTH_COOLING_TRUE) = range(len(O_NAMES) - len(_EXTRA_TRUE),
                                                            len(O_NAMES))
_O_INDEX = {name: i for i, name in enumerate(O_NAMES)}
#: Per sensor (SPECS order): the output array index of its true value and of its reading.
SENSOR_SRC = tuple(_O_INDEX[sp.source] for sp in SPECS)
SENSOR_OUT = tuple(_O_INDEX[sp.name] for sp in SPECS)
_O_ORDER = tuple(O_NAMES[:_N_OUT])          # the published names, in output array order

(U_FUEL, U_SPARK, U_FUEL_CUT, U_SPARK_CUT, U_WG, U_DRS_CMD, U_THROTTLE, U_BRAKE, U_GEAR,
 U_DRS_REQ, U_DYNO_RPM, U_AMB_T, U_AMB_P, U_GRADE) = range(len(INPUT_NAMES))

#: The composite's own state (crank, vehicle, driver mode), in its state array.
COMPOSITE_STATE = ("omega_e", "v_mps", "distance_m", "gear_state", "accel", "drs_pos",
                   "brake_bar", "lap", "_last_segment", "_initialised", "steps", "time_s",
                   "_v_target", "_drs_request", "_mode", "_mode_t0", "_dyno_ramp", "_road_loop")
(C_OMEGA, C_V, C_DIST, C_GEAR, C_ACCEL, C_DRS_POS, C_BRAKE, C_LAP, C_LAST_SEG, C_INIT, C_STEPS,
 C_TIME, C_V_TARGET, C_DRS_REQ, C_MODE, C_MODE_T0, C_DYNO_RAMP, C_ROAD_LOOP) = range(
    len(COMPOSITE_STATE))
MODE_MANUAL, MODE_DYNO, MODE_ROAD, MODE_TRACK = 0.0, 1.0, 2.0, 3.0
#: What the first stage of a step hands the second (plant_step_a -> plant_step_b).
(SC_SLOW, SC_DT_SLOW, SC_T_AMB, SC_W_EXH, SC_GEAR, SC_ROAD_LOAD, SC_DRAG, SC_DF_FRONT,
 SC_DF_REAR, SC_FZ_FRONT, SC_FZ_REAR) = range(11)
_N_SCRATCH = 11

#: Vehicle parameters the kernels read, then derived values.
VEHICLE_PARAMS = ("mass_kg", "cda_m2", "cla_front_m2", "cla_rear_m2", "drs_drag_factor",
                  "drs_rear_downforce_factor", "drs_tau_s", "crr", "coastdown_a_n",
                  "coastdown_b_n_per_mps", "coastdown_c_n_per_mps2", "wheel_radius_m",
                  "drivetrain_efficiency", "wheel_inertia_kg_m2", "cog_height_m", "l_front_m",
                  "l_rear_m", "tire_mu", "brake_max_bar", "brake_force_n_per_bar",
                  "brake_tau_s", "clutch_max_torque_nm", "clutch_launch_rpm",
                  "clutch_damping_nm_s", "rho_override_kg_m3")
(VP_MASS, VP_CDA, VP_CLA_F, VP_CLA_R, VP_DRS_DRAG, VP_DRS_DF, VP_DRS_TAU, VP_CRR, VP_CD_A,
 VP_CD_B, VP_CD_C, VP_RW, VP_ETA_DT, VP_J_WHEEL, VP_COG_H, VP_L_FRONT, VP_L_REAR, VP_MU,
 VP_BRAKE_MAX, VP_BRAKE_N_PER_BAR, VP_BRAKE_TAU, VP_CLUTCH_MAX, VP_CLUTCH_LAUNCH_RPM,
 VP_CLUTCH_DAMPING, VP_RHO,
 CP_WB, CP_COASTDOWN, CP_FRONT_DRIVEN, CP_N_SLOW, CP_J_ENGINE, CP_IDLE_RPM, CP_BRAKE_DECEL,
 CP_TRACK_LEN, CP_N_GEARS, CP_N_POLY) = range(len(VEHICLE_PARAMS) + 10)
_N_CP = len(VEHICLE_PARAMS) + 10
_MODE_CODES = {"manual": MODE_MANUAL, "dyno": MODE_DYNO, "road": MODE_ROAD, "track": MODE_TRACK}
_MODE_NAMES = {v: k for k, v in _MODE_CODES.items()}


class CompositePlant:
    """One vehicle with a turbocharged SI engine; see docs/plants/composite.md.

    Its step runs the kernels of plants.engine, .turbo, .exhaust, .driver, .health,
    .sensors and the ones below, compiled by numba or as plain Python (plants._jit,
    docs/plants/compiled.md); the state lives in their arrays."""

    input_names = INPUT_NAMES
    output_names = OUTPUT_NAMES
    omega_e = Field(C_OMEGA, "_c")
    v_mps = Field(C_V, "_c")
    distance_m = Field(C_DIST, "_c")
    gear_state = IntField(C_GEAR, "_c")
    accel = Field(C_ACCEL, "_c")
    drs_pos = Field(C_DRS_POS, "_c")
    brake_bar = Field(C_BRAKE, "_c")
    lap = IntField(C_LAP, "_c")
    _last_segment = IntField(C_LAST_SEG, "_c")
    steps = IntField(C_STEPS, "_c")
    time_s = Field(C_TIME, "_c")
    _v_target = Field(C_V_TARGET, "_c")
    _drs_request = Field(C_DRS_REQ, "_c")
    _mode_t0 = Field(C_MODE_T0, "_c")
    _dyno_ramp = Field(C_DYNO_RAMP, "_c")

    def __init__(self, params: PlantParams, seed: int = 0) -> None:
        compile_kernels()
        self.params = params
        self.seed = seed
        noise = np.random.default_rng(seed).standard_normal(1 << 16).tolist()
        self._noise = noise
        self._noise_arr = array(noise)
        self.engine = Engine(params.engine, params.thermal, noise, self._noise_arr)
        self.turbo = Turbo(params.turbo, params.exhaust.cp_exh_j_per_kg_k)
        self.exhaust = Exhaust(params.exhaust)
        self.health = PartHealth()
        vp = params.vehicle
        self.driver = Driver(params.driver, len(vp.gear_ratios))
        self.track = Track(params.driver.track, params.driver.lateral_mu)
        self._sensor_table = array2d(
            sensor_row(s, len(noise), 997 * (i + 1) + 13 * seed, params.sensors.noise_scale)
            for i, s in enumerate(SPECS))
        self.sensors = [Sensor(s, noise, 0, params.sensors.noise_scale,
                               row=self._sensor_table[i], noise_array=self._noise_arr)
                        for i, s in enumerate(SPECS)]
        self._sensor_by_name = {s.spec.name: s for s in self.sensors}
        self.inputs = dict(INPUT_DEFAULTS)
        self.outputs = dict.fromkeys(OUTPUT_NAMES, 0.0)
        self._n_slow = params.sensors.slow_period_steps
        self._ratios = array([r * vp.final_drive for r in vp.gear_ratios])
        self._wb = vp.l_front_m + vp.l_rear_m
        self._coastdown = uses_coastdown(vp)
        self._cp = array([float(getattr(vp, n)) for n in VEHICLE_PARAMS]
                         + [self._wb, float(self._coastdown), float(vp.driven_axle == "front"),
                            float(self._n_slow), float(params.engine.inertia_kg_m2),
                            float(params.engine.idle_rpm), params.driver.brake_decel_g * G,
                            self.track.length_m, float(len(vp.gear_ratios)),
                            float(len(params.engine.ve_poly))])
        self._c = array([0.0] * len(COMPOSITE_STATE))
        self._o = array([0.0] * len(O_NAMES))
        self._u = array([0.0] * len(INPUT_NAMES))
        self._sc = array([0.0] * _N_SCRATCH)
        self._road_profile: list[tuple[float, float]] = []  # set by road mode
        self._road_table = array2d([(0.0, 0.0)])
        self._get_inputs = operator.itemgetter(*INPUT_NAMES)
        self._pack()
        self.mode = "manual"
        self._dyno_ramp = DEFAULT_DYNO_RAMP_RPM_PER_S
        self._mode_t0 = 0.0
        self._v_target = -1.0               # driver model's target speed [m/s], -1: none
        self._drs_request = 0.0
        self.steps = 0
        self.time_s = 0.0
        # A replacement of the road-load model (plants/fmu.py FmuPart, "road_load" slot):
        # part(time_s, dt, road_load_n, drag_n) -> (road_load_n, drag_n). None: built-in.
        self.road_load_part: Callable[[float, float, float, float], tuple[float, float]] | None = None
        self.set_state()

    def _pack(self) -> None:
        """Compiled: one state and one parameter array for the whole plant (each part's
        array becomes a view of it), so that a step hands numba few arguments."""
        if not _jit.COMPILED:
            return
        n_sensors = len(self.sensors)
        parts = [(self, "_c"), (self.engine, "st"), (self.turbo, "st"), (self.exhaust, "st"),
                 (self.health, "st"), (self.driver, "st"), (self, "_sc"), (self, "_o"),
                 (self, "_u"), (self.exhaust, "buf")]
        big = np.concatenate([getattr(obj, name) for obj, name in parts]
                             + [self._sensor_table.ravel()])
        at = 0
        for obj, name in parts:
            n = len(getattr(obj, name))
            setattr(obj, name, big[at:at + n])
            at += n
        self._sensor_table = big[at:].reshape((n_sensors, len(SENSOR_FIELDS)))
        for i, sensor in enumerate(self.sensors):
            sensor.st = self._sensor_table[i]
        for f in (self.health.injectors, self.health.turbo, self.health.knock_sensor,
                  self.health.cooling):
            f._st = self.health.st
        pparts = [(self, "_cp"), (self.engine, "pa"), (self.turbo, "pa"), (self.exhaust, "pa"),
                  (self.driver, "pa"), (self, "_ratios"), (self.engine, "poly"),
                  (self, "_noise_arr")]
        bigp = np.concatenate([getattr(obj, name) for obj, name in pparts])
        at = 0
        for obj, name in pparts:
            n = len(getattr(obj, name))
            setattr(obj, name, bigp[at:at + n])
            at += n
        self.engine.noise = self._noise_arr
        for sensor in self.sensors:
            sensor._buf = self._noise_arr
        self._big_s = big
        self._big_p = bigp

    # ------------------------------------------------------------------ state
    @property
    def mode(self) -> str:
        return _MODE_NAMES[float(self._c[C_MODE])]

    @mode.setter
    def mode(self, mode: str) -> None:
        self._c[C_MODE] = _MODE_CODES[mode]

    @property
    def _initialised(self) -> bool:
        return bool(self._c[C_INIT])

    @_initialised.setter
    def _initialised(self, value: bool) -> None:
        self._c[C_INIT] = 1.0 if value else 0.0

    @property
    def _road_loop(self) -> bool:
        return bool(self._c[C_ROAD_LOOP])

    @_road_loop.setter
    def _road_loop(self, value: bool) -> None:
        self._c[C_ROAD_LOOP] = 1.0 if value else 0.0

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
        ov = self._o
        ov[O_ENGINE_SPEED_RPM] = rpm
        ov[O_VEHICLE_SPEED_KPH] = self.v_mps * KPH_PER_MPS
        ov[O_VEHICLE_DISTANCE_M] = self.distance_m
        ov[O_VEHICLE_GEAR] = self.gear_state
        ov[O_ENGINE_COOLANT_TEMP_C] = cool
        ov[O_ENGINE_OIL_TEMP_C] = oil
        ov[O_ENGINE_MANIFOLD_PRESSURE_KPA] = p_im * 1e-3
        ov[O_TURBO_SPEED_RPM] = self.turbo.omega * RAD_S_TO_RPM
        self._publish(_N_OUT)
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
            self._road_table = array2d(prof)
            self._road_loop = bool(cfg.get("loop", False))
        elif mode == "track":
            if "segments" in cfg:
                self.track = Track(cfg["segments"], self.params.driver.lateral_mu)
                self._cp[CP_TRACK_LEN] = self.track.length_m
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
        The kernels write the output array; the outputs that changed are then published
        into `self.outputs`.
        """
        u = self.inputs if inputs is None else inputs
        if inputs is not None and inputs is not self.inputs and len(inputs) != len(INPUT_DEFAULTS):
            self.check_inputs(inputs)
            full = dict(self.inputs)
            full.update(inputs)
            u = full
        if not dt > 0.0:
            raise PlantError(f"step size must be > 0, got {dt}")
        self._u[:] = self._get_inputs(u)
        if self.road_load_part is not None:
            self._step_staged(dt, self.road_load_part)
        elif _jit.COMPILED:
            packed_step(self._big_s, self._big_p, self.track.table, self._road_table, dt, 0)
        else:
            plant_step(*self._args(), dt)
        self._publish(_N_OUT if self._sc[SC_SLOW] != 0.0 else _N_FAST)
        return self.outputs

    def warm_up(self) -> None:
        """Make the compiled step's machine code ready now, not at the first step: numba
        loads it from its cache at the first call (a few tenths of a second; a compile of
        tens of seconds after an install). A wall-clock bench calls this before its clock
        starts, so the first step is not a stall. Steps copies: the plant is unchanged."""
        if _jit.COMPILED:
            state = self._big_s.copy()
            state[_SO_U:_S_LEN] = self._get_inputs(self.inputs)   # as step() fills them
            packed_step(state, self._big_p.copy(), self.track.table, self._road_table,
                        1e-3, 0)

    def _args(self) -> tuple:
        e, t, x, d = self.engine, self.turbo, self.exhaust, self.driver
        return (self._c, self._cp, self._ratios, self._u, self._o, self._sc, e.st, e.pa, e.poly,
                self._noise_arr, t.st, t.pa, x.st, x.pa, x.buf, self.health.st, d.st, d.pa,
                self.track.table, self._road_table, self._sensor_table)

    def _step_staged(self, dt: float,
                     part: Callable[[float, float, float, float], tuple[float, float]]) -> None:
        """The step with a Python part in the middle (the road_load slot's FMU): the
        kernels up to the road load, the part, then the rest."""
        if _jit.COMPILED:
            args = (self._big_s, self._big_p, self.track.table, self._road_table, dt)
            packed_step(*args, 1)
        else:
            plant_step_a(*self._args(), dt)
        self._publish(_N_FAST if self._sc[SC_SLOW] == 0.0 else _N_OUT, skip_chassis=True)
        sc = self._sc
        road_load, drag = part(self.time_s, dt, float(sc[SC_ROAD_LOAD]),
                                              float(sc[SC_DRAG]))
        sc[SC_ROAD_LOAD] = road_load
        sc[SC_DRAG] = drag
        if _jit.COMPILED:
            packed_step(*args, 2)
        else:
            plant_step_b(*self._args(), dt)

    def _publish(self, n: int, skip_chassis: bool = False) -> None:
        """Copy the first `n` entries of the output array into `self.outputs`."""
        values = self._o[:n]
        values = values.tolist() if _jit.COMPILED else values
        if skip_chassis:     # what the step has not published yet at the road-load part
            values = list(values)
            o = self.outputs
            for i in _CHASSIS_OUT:
                if i < n:
                    values[i] = o[_O_ORDER[i]]
        self.outputs.update(zip(_O_ORDER, values, strict=False))   # the first n names


_CHASSIS_OUT = tuple(_O_INDEX[n] for n in (
    "aero.drag_n", "aero.downforce_n", "aero.downforce_front_n", "aero.downforce_rear_n",
    "aero.drs_position", "brake.pressure_bar", "vehicle.front_axle_load_n",
    "vehicle.rear_axle_load_n", "engine.speed_rpm", "engine.power_kw", "vehicle.speed_kph",
    "vehicle.accel_long_g", "vehicle.distance_m", "vehicle.clutch_slip_rpm",
    "vehicle.traction_limited") + _FAST_SENSORS + TRUE_SLOW + _SLOW_SENSORS)

# The packed arrays of the compiled path (CompositePlant._pack): offsets of each part.
_SO_C = 0
_SO_E = _SO_C + len(COMPOSITE_STATE)
_SO_T = _SO_E + len(ENGINE_STATE)
_SO_X = _SO_T + len(TURBO_STATE)
_SO_H = _SO_X + len(EXHAUST_STATE)
_SO_D = _SO_H + 13
_SO_SC = _SO_D + len(DRIVER_STATE)
_SO_O = _SO_SC + _N_SCRATCH
_SO_U = _SO_O + len(O_NAMES)
_S_LEN = _SO_U + len(INPUT_NAMES)


def _p_lengths() -> tuple[int, int, int, int]:
    from .driver import DRIVER_PARAMS
    from .engine import _ENGINE_DERIVED, ENGINE_PARAMS, THERMAL_PARAMS
    from .exhaust import EXHAUST_PARAMS
    from .turbo import TURBO_PARAMS
    return (len(ENGINE_PARAMS) + len(THERMAL_PARAMS) + len(_ENGINE_DERIVED),
            len(TURBO_PARAMS) + 1, len(EXHAUST_PARAMS) + 1, len(DRIVER_PARAMS) + 1)


_NE_P, _NT_P, _NX_P, _ND_P = _p_lengths()
_PO_E = _N_CP
_PO_T = _PO_E + _NE_P
_PO_X = _PO_T + _NT_P
_PO_D = _PO_X + _NX_P
_P_LEN = _PO_D + _ND_P
_N_SENSOR_FIELDS = len(SENSOR_FIELDS)


@kernel
def packed_step(s, p, track, road, dt, stage):
    """The compiled path's entry: the plant's packed state and parameters cut into its
    parts' views (CompositePlant._pack), then the whole step (stage 0), its first half (1)
    or its second half (2)."""
    c = s[_SO_C:_SO_E]
    es = s[_SO_E:_SO_T]
    ts = s[_SO_T:_SO_X]
    xs = s[_SO_X:_SO_H]
    hs = s[_SO_H:_SO_D]
    ds = s[_SO_D:_SO_SC]
    sc = s[_SO_SC:_SO_O]
    o = s[_SO_O:_SO_U]
    u = s[_SO_U:_S_LEN]
    cp = p[0:_PO_E]
    ep = p[_PO_E:_PO_T]
    tp = p[_PO_T:_PO_X]
    xp = p[_PO_X:_PO_D]
    dp = p[_PO_D:_P_LEN]
    n_buf = int(xp[XP_NBUF])
    xbuf = s[_S_LEN:_S_LEN + n_buf]
    sens = s[_S_LEN + n_buf:].reshape((len(SENSOR_OUT), _N_SENSOR_FIELDS))
    n_gears = int(cp[CP_N_GEARS])
    n_poly = int(cp[CP_N_POLY])
    ratios = p[_P_LEN:_P_LEN + n_gears]
    poly = p[_P_LEN + n_gears:_P_LEN + n_gears + n_poly]
    noise = p[_P_LEN + n_gears + n_poly:]
    if stage != 2:
        plant_step_a(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds,
                     dp, track, road, sens, dt)
    if stage != 1:
        plant_step_b(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds,
                     dp, track, road, sens, dt)


@kernel
def plant_step(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds, dp,
               track, road, sens, dt):
    """One whole step of the composite plant (CompositePlant.step)."""
    plant_step_a(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds, dp,
                 track, road, sens, dt)
    plant_step_b(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds, dp,
                 track, road, sens, dt)


@kernel
def plant_step_a(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds, dp,
                 track, road, sens, dt):
    """The step up to the road load: who drives, the powertrain, the chassis forces."""
    k = c[C_STEPS]
    n_slow = cp[CP_N_SLOW]
    slow = (k % n_slow == 0.0) or c[C_INIT] == 0.0
    dt_slow = dt * n_slow
    t_amb_k = u[U_AMB_T] + T0_K
    p_amb_pa = u[U_AMB_P] * 1e3
    throttle_pct, brake_pct, gear = _drive(c, cp, ratios, u, o, ds, dp, track, road, slow,
                                           dt_slow)
    w_exh = _powertrain(c, cp, u, o, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, dt,
                        throttle_pct, p_amb_pa, t_amb_k)
    _chassis_forces(c, cp, u, sc, dt, brake_pct, p_amb_pa, t_amb_k)
    sc[SC_SLOW] = 1.0 if slow else 0.0
    sc[SC_DT_SLOW] = dt_slow
    sc[SC_T_AMB] = t_amb_k
    sc[SC_W_EXH] = w_exh
    sc[SC_GEAR] = gear


@kernel
def plant_step_b(c, cp, ratios, u, o, sc, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, ds, dp,
                 track, road, sens, dt):
    """The step from the road load on: driveline, slow states, sensors."""
    slow = sc[SC_SLOW] != 0.0
    dt_slow = sc[SC_DT_SLOW]
    o[O_AERO_DRAG_N] = sc[SC_DRAG]
    o[O_AERO_DOWNFORCE_N] = sc[SC_DF_FRONT] + sc[SC_DF_REAR]
    o[O_AERO_DOWNFORCE_FRONT_N] = sc[SC_DF_FRONT]
    o[O_AERO_DOWNFORCE_REAR_N] = sc[SC_DF_REAR]
    o[O_AERO_DRS_POSITION] = c[C_DRS_POS]
    o[O_BRAKE_PRESSURE_BAR] = c[C_BRAKE]
    o[O_VEHICLE_FRONT_AXLE_LOAD_N] = sc[SC_FZ_FRONT]
    o[O_VEHICLE_REAR_AXLE_LOAD_N] = sc[SC_FZ_REAR]
    _driveline(c, cp, ratios, u, o, es, ep, dt, int(sc[SC_GEAR]), sc[SC_ROAD_LOAD],
               sc[SC_FZ_FRONT], sc[SC_FZ_REAR])
    if slow:
        _slow_states(c, o, es, ep, ts, tp, xs, xp, hs, dt_slow, sc[SC_T_AMB], sc[SC_W_EXH])
    _read_sensors(c, o, hs, sens, noise, dt, slow, dt_slow)
    k = c[C_STEPS]
    c[C_STEPS] = k + 1.0
    c[C_TIME] = (k + 1.0) * dt


@kernel
def _drive(c, cp, ratios, u, o, ds, dp, track, road, slow, dt_slow):
    """Who drives: the scenario's inputs (manual, dyno) or the driver model on the track
    or the road profile (at the slow rate). Returns (throttle %, brake %, gear) and
    publishes the driver's and the track's outputs."""
    mode = c[C_MODE]
    lat_g = 0.0
    if mode == MODE_MANUAL or mode == MODE_DYNO:
        throttle = u[U_THROTTLE]
        brake = u[U_BRAKE] if mode == MODE_MANUAL else 0.0
        gear = int(u[U_GEAR]) if mode == MODE_MANUAL else 0
        c[C_DRS_REQ] = u[U_DRS_REQ]
        v_target = -1.0
        segment = 0
    else:
        rpm = c[C_OMEGA] * RAD_S_TO_RPM
        if mode == MODE_TRACK:
            segment = int(c[C_LAST_SEG])
            if slow:
                v_t, segment = track_target(track, cp[CP_TRACK_LEN], c[C_DIST], cp[CP_BRAKE_DECEL])
                if segment < c[C_LAST_SEG]:
                    c[C_LAP] += 1.0
                c[C_LAST_SEG] = float(segment)
                driver_step(ds, dp, dt_slow, v_t, c[C_V], rpm, track[segment][4])
                c[C_V_TARGET] = v_t
            radius = track[segment][3]
            if radius > 0.0:
                lat_g = c[C_V] * c[C_V] / radius / G
        else:
            segment = 0
            if slow:
                v_t = _road_target(road, c[C_ROAD_LOOP], c[C_TIME] - c[C_MODE_T0])
                driver_step(ds, dp, dt_slow, v_t, c[C_V], rpm, 0.0)
                c[C_V_TARGET] = v_t
        v_target = c[C_V_TARGET]
        throttle, brake, gear = ds[D_THR], ds[D_BRAKE], int(ds[D_GEAR])
        c[C_DRS_REQ] = ds[D_DRS]
    n_gears = len(ratios)
    gear = 0 if gear < 0 else (n_gears if gear > n_gears else gear)
    c[C_GEAR] = float(gear)
    o[O_DRIVER_THROTTLE_PCT] = throttle
    o[O_DRIVER_BRAKE_PCT] = brake
    o[O_DRIVER_TARGET_SPEED_KPH] = v_target * KPH_PER_MPS if v_target >= 0.0 else -1.0
    o[O_TRACK_SEGMENT] = float(segment)
    o[O_TRACK_LAP] = c[C_LAP]
    o[O_VEHICLE_ACCEL_LAT_G] = lat_g
    o[O_VEHICLE_GEAR] = float(gear)
    return throttle, brake, gear


@kernel
def _powertrain(c, cp, u, o, es, ep, poly, noise, ts, tp, xs, xp, xbuf, hs, dt, throttle_pct,
                p_amb_pa, t_amb_k):
    """Engine and turbo at the crank speed of the step start, then the lambda sensor's
    gas path. Returns the exhaust mass flow [kg/s]; publishes engine and turbo outputs."""
    engine_step(es, ep, poly, noise, dt, c[C_OMEGA] * RAD_S_TO_RPM, throttle_pct, ts[T_BOOST],
                ts[T_IC], ts[T_P_EM], u[U_FUEL], u[U_SPARK], u[U_FUEL_CUT], u[U_SPARK_CUT],
                hs[H_INJ], hs[H_KNOCK], 0.0 if c[C_MODE] == MODE_DYNO else 1.0)
    w_air = es[E_AIR]
    w_exh = w_air + es[E_FUEL]
    ts[T_WG_FAULT] = hs[H_WASTEGATE]
    turbo_step(ts, tp, dt, es[E_THF], w_exh, xs[X_EGT], p_amb_pa, t_amb_k, es[E_P_IM], u[U_WG],
               hs[H_TURBO_V], es[E_THR])
    lam_sensed = exhaust_lambda(xs, xp, xbuf, dt, es[E_LAM], w_exh)
    o[O_ENGINE_MANIFOLD_PRESSURE_KPA] = es[E_P_IM] * 1e-3
    o[O_ENGINE_TORQUE_NM] = es[E_TQ]
    o[O_ENGINE_AIR_FLOW_GPS] = w_air * 1e3
    o[O_ENGINE_FUEL_FLOW_GPS] = es[E_FUEL] * 1e3
    o[O_ENGINE_LAMBDA] = es[E_LAM]
    o[O_ENGINE_KNOCK_INTENSITY] = es[E_KTRUE]
    o[O_ENGINE_KNOCK_LIMITED_SPARK_DEG] = es[E_KLS]
    o[O_ENGINE_MBT_SPARK_DEG] = es[E_MBT]
    o[O_ENGINE_SPARK_EFFICIENCY] = es[E_ETA_IGN]
    o[O_ENGINE_THROTTLE_PCT] = es[E_THR]
    o[O_ENGINE_KNOCK_EVENTS] = es[E_KEV]
    o[O_ENGINE_REV_LIMITER_ACTIVE] = es[E_REV]
    o[O_ENGINE_KNOCK_SIGNAL] = es[E_KSIG]
    o[O_TURBO_BOOST_PRESSURE_KPA] = ts[T_BOOST] * 1e-3
    turbo_rpm = ts[T_OMEGA] * RAD_S_TO_RPM
    o[O_TURBO_SPEED_RPM] = turbo_rpm
    o[O_TURBO_WASTEGATE_POS_PCT] = ts[T_WG] * 100.0
    o[O_TURBO_EXHAUST_MANIFOLD_PRESSURE_KPA] = ts[T_P_EM] * 1e-3
    o[O_TURBO_OVERSPEED] = 1.0 if turbo_rpm > tp[TP_OVERSPEED] else 0.0
    o[O_EXHAUST_LAMBDA_SENSED] = lam_sensed
    return w_exh


@kernel
def _chassis_forces(c, cp, u, sc, dt, brake_pct, p_amb_pa, t_amb_k):
    """Brake pressure and DRS flap (first order), aero forces, axle loads (with the load
    transfer of the last step's acceleration) and the road load at the speed of the
    step start, into the scratch array (published by plant_step_b)."""
    pb_cmd = brake_pct * 0.01 * cp[VP_BRAKE_MAX]
    pb_cmd = 0.0 if pb_cmd < 0.0 else pb_cmd
    c[C_BRAKE] += (pb_cmd - c[C_BRAKE]) * dt / (cp[VP_BRAKE_TAU] + dt)
    drs_cmd = 1.0 if u[U_DRS_CMD] >= DRS_CMD_OPEN else 0.0
    c[C_DRS_POS] += (drs_cmd - c[C_DRS_POS]) * dt / (cp[VP_DRS_TAU] + dt)
    v = c[C_V]
    rho = cp[VP_RHO] if cp[VP_RHO] != 0.0 else p_amb_pa / (R_DRY_AIR * t_amb_k)
    q = 0.5 * rho * v * v
    drs = c[C_DRS_POS]
    moving = 1.0 if v > STANDSTILL_MPS else 0.0
    if cp[CP_COASTDOWN] != 0.0:           # A + B v + C v^2 replaces C_rr and CdA
        drag = cp[VP_CD_C] * v * v * (1.0 - cp[VP_DRS_DRAG] * drs)
    else:
        drag = q * cp[VP_CDA] * (1.0 - cp[VP_DRS_DRAG] * drs)
    df_front = q * cp[VP_CLA_F]
    df_rear = q * cp[VP_CLA_R] * (1.0 - cp[VP_DRS_DF] * drs)
    m = cp[VP_MASS]
    wb = cp[CP_WB]
    transfer = m * c[C_ACCEL] * cp[VP_COG_H] / wb
    fz_front = m * G * cp[VP_L_REAR] / wb + df_front - transfer
    fz_rear = m * G * cp[VP_L_FRONT] / wb + df_rear + transfer
    fz_front = 0.0 if fz_front < 0.0 else fz_front
    fz_rear = 0.0 if fz_rear < 0.0 else fz_rear
    grade = u[U_GRADE] * 0.01
    if cp[CP_COASTDOWN] != 0.0:
        rolling = (cp[VP_CD_A] + cp[VP_CD_B] * v) * moving
    else:
        rolling = cp[VP_CRR] * (m * G + df_front + df_rear) * moving
    sc[SC_ROAD_LOAD] = drag + rolling + m * G * grade
    sc[SC_DRAG] = drag
    sc[SC_DF_FRONT] = df_front
    sc[SC_DF_REAR] = df_rear
    sc[SC_FZ_FRONT] = fz_front
    sc[SC_FZ_REAR] = fz_rear


@kernel
def _driveline(c, cp, ratios, u, o, es, ep, dt, gear, road_load_n, fz_front_n, fz_rear_n):
    """Crank speed (imposed by the dyno, or engine torque against the clutch), traction
    and brake limits, and the vehicle's longitudinal motion; publishes their outputs."""
    torque = es[E_TQ]
    rw = cp[VP_RW]
    m = cp[VP_MASS]
    m_eq = m + cp[VP_J_WHEEL] / (rw * rw)
    om = c[C_OMEGA]
    v = c[C_V]
    tc = 0.0
    slip = 0.0
    dyno = c[C_MODE] == MODE_DYNO
    if dyno:
        target = u[U_DYNO_RPM] / RAD_S_TO_RPM
        step_max = c[C_DYNO_RAMP] / RAD_S_TO_RPM * dt
        d = target - om
        om = target if abs(d) <= step_max else om + (step_max if d > 0 else -step_max)
        f_drive = 0.0
    else:
        if gear > 0:
            ratio = ratios[gear - 1]
            tc, slip = _clutch(c, cp, dt, ratio, torque, road_load_n, m_eq)
            f_drive = tc * ratio * (cp[VP_ETA_DT] if tc > 0.0 else 1.0) / rw
        else:
            f_drive = 0.0
        om += dt * (torque - tc) / cp[CP_J_ENGINE]
        if om < 0.0:
            om = 0.0
    # traction limit of the driven axle, brake force limit of both
    lim = cp[VP_MU] * (fz_front_n if cp[CP_FRONT_DRIVEN] != 0.0 else fz_rear_n)
    traction = 0.0
    if f_drive > lim:
        f_drive = lim
        traction = 1.0
    elif f_drive < -lim:
        f_drive = -lim
        traction = 1.0
    f_brake = cp[VP_BRAKE_N_PER_BAR] * c[C_BRAKE]
    lim_brake = cp[VP_MU] * (fz_front_n + fz_rear_n)
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
    c[C_OMEGA] = om
    c[C_V] = v
    c[C_ACCEL] = a
    c[C_DIST] += v * dt
    o[O_ENGINE_SPEED_RPM] = om * RAD_S_TO_RPM
    o[O_ENGINE_POWER_KW] = torque * om * 1e-3
    o[O_VEHICLE_SPEED_KPH] = v * KPH_PER_MPS
    o[O_VEHICLE_ACCEL_LONG_G] = a / G
    o[O_VEHICLE_DISTANCE_M] = c[C_DIST]
    o[O_VEHICLE_CLUTCH_SLIP_RPM] = slip * RAD_S_TO_RPM
    o[O_VEHICLE_TRACTION_LIMITED] = traction


@kernel
def _clutch(c, cp, dt, ratio, torque_nm, road_load_n, m_eq):
    """Launch clutch between crank and driveline: slip integrated implicitly (stable for
    any damping), torque capped by the capacity, which grows with engine speed above idle
    until the driveline turns the engine at clutch_launch_rpm. Returns (clutch torque
    [N m], slip at the step start [rad/s])."""
    rw = cp[VP_RW]
    je = cp[CP_J_ENGINE]
    om = c[C_OMEGA]
    jv = m_eq * rw * rw / (ratio * ratio)
    om_v = c[C_V] * ratio / rw
    slip = om - om_v
    launch_rpm = cp[VP_CLUTCH_LAUNCH_RPM]
    if om_v >= launch_rpm / RAD_S_TO_RPM:
        cap = cp[VP_CLUTCH_MAX]
    else:
        idle_rpm = cp[CP_IDLE_RPM]
        idle_w = idle_rpm / RAD_S_TO_RPM
        x = (om - idle_w) / ((launch_rpm - idle_rpm) / RAD_S_TO_RPM)
        cap = cp[VP_CLUTCH_MAX] * (0.0 if x < 0.0 else (1.0 if x > 1.0 else x))
    cd = cp[VP_CLUTCH_DAMPING]
    s_new = (slip + dt * (torque_nm / je + road_load_n * rw / ratio / jv)) / (1.0 + dt * cd * (1.0 / je + 1.0 / jv))
    tc = cd * s_new
    tc = cap if tc > cap else (-cap if tc < -cap else tc)
    return tc, slip


@kernel
def _slow_states(c, o, es, ep, ts, tp, xs, xp, hs, dt_slow, t_amb_k, w_exh):
    """Every slow_period_steps steps, with their step: intercooler, coolant and oil,
    EGT and catalyst, part health (time constants >= 0.2 s)."""
    c[C_INIT] = 1.0
    turbo_intercooler(ts, tp, dt_slow, t_amb_k)
    engine_thermal(es, ep, dt_slow, t_amb_k, c[C_V], es[E_FRIC] * c[C_OMEGA], hs[H_COOL])
    q_hv = ep[EP_QHV]
    egt_ss = egt_steady(xp, ts[T_IC], es[E_BURN], q_hv, es[E_ETA_TOT], es[E_ETA_IGN],
                        ep[TH_FRAC], w_exh, es[E_LAM])
    exhaust_thermal(xs, xp, dt_slow, egt_ss, w_exh, ts[T_TURB_OUT], t_amb_k,
                    es[E_FUEL] - es[E_BURN], q_hv, es[E_LAM])
    health_step(hs, dt_slow)
    o[O_ENGINE_COOLANT_TEMP_C] = es[E_COOL] - T0_K
    o[O_ENGINE_OIL_TEMP_C] = es[E_OIL] - T0_K
    o[O_INTAKE_AIR_TEMP_C] = ts[T_IC] - T0_K
    o[O_TURBO_COMPRESSOR_OUT_TEMP_C] = ts[T_C_OUT] - T0_K
    o[O_EXHAUST_EGT_C] = xs[X_EGT] - T0_K
    o[O_EXHAUST_TURBINE_OUT_TEMP_C] = ts[T_TURB_OUT] - T0_K
    o[O_EXHAUST_CATALYST_TEMP_C] = xs[X_CAT] - T0_K


@kernel
def _read_sensors(c, o, hs, sens, noise, dt, slow, dt_slow):
    """The five fast sensors every step, the others at the slow rate, from the true
    values just published (sensor times are those of the step start)."""
    t = c[C_TIME]
    for i in range(5):
        o[SENSOR_OUT[i]] = sensor_read(sens[i], noise, o[SENSOR_SRC[i]], dt, t)
    if slow:
        o[O_DRIVER_DRS_REQUEST_TRUE] = c[C_DRS_REQ]
        o[O_HEALTH_TURBO_TRUE] = health_turbo_pct(hs)
        o[O_HEALTH_INJECTOR_TRUE] = 100.0 * hs[H_INJ]
        o[O_HEALTH_KNOCK_SENSOR_TRUE] = 100.0 * hs[H_KNOCK]
        o[O_HEALTH_COOLING_TRUE] = 100.0 * hs[H_COOL]
        for i in range(5, len(SENSOR_OUT)):
            o[SENSOR_OUT[i]] = sensor_read(sens[i], noise, o[SENSOR_SRC[i]], dt_slow, t)


@kernel
def _road_target(prof, loop, t):
    """The road profile's target speed [m/s] at `t` (linear between its points)."""
    n = len(prof)
    if loop != 0.0 and n > 1:
        t = prof[0][0] + (t - prof[0][0]) % (prof[n - 1][0] - prof[0][0])
    if t <= prof[0][0]:
        return prof[0][1] / KPH_PER_MPS
    for j in range(n - 1):
        t0 = prof[j][0]
        v0 = prof[j][1]
        t1 = prof[j + 1][0]
        v1 = prof[j + 1][1]
        if t <= t1:
            return (v0 + (v1 - v0) * (t - t0) / (t1 - t0)) / KPH_PER_MPS
    return prof[n - 1][1] / KPH_PER_MPS
