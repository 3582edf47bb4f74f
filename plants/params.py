"""Plant parameters as data: one dataclass per plant, loadable from YAML.

A parameter set (plants/params/<name>.yaml) has one mapping per section below. Unknown
sections or keys, in a file or in scenario overrides ("engine.displacement_l": 2.2), are a
PlantError (a ValueError) naming the closest valid key. Units are in the field names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import PlantError, unknown_name

PARAMS_DIR = Path(__file__).with_name("params")


@dataclass
class EngineParams:
    """Mean-value SI engine (Eriksson & Nielsen ch. 7, Linkoping VEP4)."""
    displacement_l: float = 2.0
    n_cyl: int = 4
    bore_m: float = 0.086
    compression_ratio: float = 9.5
    gamma_cyl: float = 1.3
    eta_ig_ch: float = 0.70                  # x (1 - r_c^(1-gamma)) = 0.343 gross indicated
    q_hv_j_per_kg: float = 44.0e6
    afr_stoich: float = 14.7
    octane_ron: float = 95.0
    manifold_volume_l: float = 1.8
    ve_poly: list = field(default_factory=lambda: [1.7338e-9, -8.3904e-7, 1.3625e-4,
                                                   -7.4009e-3, 0.93581])
    ve_poly_max_kpa: float = 200.0           # VEP4 polynomial fitted up to ~200 kPa
    charge_heating: float = 0.12             # T_in = T_im + k (T_coolant - T_im)
    throttle_diameter_m: float = 0.060
    throttle_cd: float = 0.85
    throttle_leak_area_m2: float = 2.0e-6
    throttle_tau_s: float = 0.02
    idle_rpm: float = 800.0
    idle_gain_pct_per_rpm: float = 0.02
    idle_integral_pct_per_rpm_s: float = 0.03
    idle_max_pct: float = 12.0
    redline_rpm: float = 6800.0
    rev_limit_rpm: float = 7300.0            # hardware limiter of the ignition, above the ECU's
    stall_rpm: float = 250.0
    inertia_kg_m2: float = 0.16
    friction_xi_aux: float = 0.487
    friction_pi_bl: float = 1.85
    wall_film_fraction: float = 0.0          # X of the x-tau model; 0 disables the film
    wall_film_tau_s: float = 0.25
    lean_limit_lambda: float = 1.45
    mbt_base_deg: float = 30.0
    mbt_rpm_deg_per_krpm: float = 1.5
    mbt_load_deg_per_100kpa: float = 10.0
    kls_ref_deg: float = 35.0                # knock-limited spark at 100 kPa, 3000 rpm, 40 C, 90 C
    kls_map_deg_per_kpa: float = 0.17
    kls_iat_deg_per_k: float = 0.15
    kls_coolant_deg_per_k: float = 0.10
    kls_octane_deg_per_ron: float = 1.5
    kls_rpm_deg_per_krpm: float = 1.0
    kls_rich_deg_per_lambda: float = 20.0
    knock_slope_deg: float = 2.5             # intensity x e per this much spark beyond KLS
    knock_background: float = 0.18           # normalised sensor background (mechanical noise)
    knock_cycle_spread: float = 0.35         # log-normal sigma of cycle-to-cycle intensity


@dataclass
class ThermalParams:
    """Coolant and oil lumped capacities, thermostat, radiator, fan."""
    coolant_heat_fraction: float = 0.22      # of fuel power, to the coolant
    coolant_heat_capacity_j_per_k: float = 45000.0
    oil_heat_capacity_j_per_k: float = 15000.0
    thermostat_open_c: float = 88.0
    thermostat_full_c: float = 98.0
    thermostat_leak: float = 0.05
    radiator_ua_w_per_k: float = 1800.0
    radiator_ua_per_mps: float = 20.0
    fan_on_c: float = 102.0
    fan_ua_w_per_k: float = 800.0
    block_loss_ua_w_per_k: float = 15.0
    friction_heat_to_oil: float = 0.5
    oil_coolant_ua_w_per_k: float = 150.0
    oil_ambient_ua_w_per_k: float = 12.0


@dataclass
class TurboParams:
    """Turbocharger, wastegate, intercooler, boost volume (TD04-class, Linkoping VEP)."""
    enabled: bool = True
    inertia_kg_m2: float = 5.0e-5
    friction_xi_nms: float = 1.0e-6
    compressor_radius_m: float = 0.028
    compressor_psi: float = 1.0              # head coefficient: dh_is = psi U^2 / 2
    compressor_psi_flow_drop: float = 0.08   # psi falls with (W / W_peak)^2 (towards choke)
    eta_c_max: float = 0.74
    eta_c_min: float = 0.45
    eta_c_peak_flow_kg_s: float = 0.14
    eta_c_flow_width_kg_s: float = 0.16
    eta_t_max: float = 0.64
    turbine_area_m2: float = 2.4e-4          # effective (ellipse-law) area: docs/plants/turbo.md
    wastegate_area_m2: float = 4.9e-4
    wastegate_cd: float = 0.9
    wastegate_tau_s: float = 0.1
    boost_tau_s: float = 0.03                # boost-volume filling lag
    intake_loss_kpa_per_kg_s2: float = 250.0 # air filter + intercooler pressure drop, dp = k W^2
    back_pressure_kpa_per_kg_s2: float = 200.0
    intercooler_effectiveness: float = 0.75
    intercooler_tau_s: float = 4.0
    overspeed_rpm: float = 195000.0
    blow_off_kpa: float = 30.0               # recirculation valve opens above p_im + this at closed throttle
    blow_off_throttle_pct: float = 3.0       # "closed throttle": the valve acts below this throttle position


@dataclass
class ExhaustParams:
    """EGT, turbine-out and catalyst temperature, wideband lambda sensor."""
    cp_exh_j_per_kg_k: float = 1200.0
    egt_rich_factor: float = 0.45            # EGT rise x (1 - k (1 - lambda)) when rich
    egt_lean_factor: float = 1.6             # x (1 + k (lambda - 1)) when lean (slow late burn)
    egt_wall_loss: float = 0.025             # EGT rise x exp(-k / sqrt(W_exh [kg/s])): port/manifold wall loss
    egt_part_load_loss: float = 0.45         # EGT rise x (1 - L1 / (1 + (W_exh / W1)^6)): light part load
    egt_part_load_flow_kg_s: float = 0.026   # W1: the part-load loss has halved at this exhaust flow
    egt_tau_s: float = 1.2                   # manifold wall lag at the reference flow
    egt_tau_ref_flow_kg_s: float = 0.05
    cat_heat_capacity_j_per_k: float = 1200.0
    cat_loss_ua_w_per_k: float = 3.0
    cat_light_off_c: float = 270.0
    cat_exotherm_fraction: float = 0.8       # of unburned fuel energy released in the catalyst
    lambda_tau_s: float = 0.07
    lambda_delay_min_s: float = 0.015
    lambda_delay_g: float = 1.8              # transport delay = this [g] / exhaust flow [g/s]
    lambda_delay_max_s: float = 0.8


@dataclass
class VehicleParams:
    """Longitudinal vehicle, driveline, brakes and aero (with DRS)."""
    mass_kg: float = 1500.0
    cda_m2: float = 0.65
    cla_front_m2: float = 0.0
    cla_rear_m2: float = 0.0
    drs_drag_factor: float = 0.0             # fraction of CdA removed with DRS open
    drs_rear_downforce_factor: float = 0.0   # fraction of rear ClA removed with DRS open
    drs_tau_s: float = 0.12
    crr: float = 0.012
    # Coast-down road load F = A + B v + C v^2 (e.g. the EPA test car list's target
    # coefficients; plants.vehicle.coastdown_si converts lbf, lbf/mph, lbf/mph^2). Any of
    # them non-zero replaces C_rr and CdA in the road load (downforce and DRS still act).
    coastdown_a_n: float = 0.0
    coastdown_b_n_per_mps: float = 0.0
    coastdown_c_n_per_mps2: float = 0.0
    wheel_radius_m: float = 0.32
    gear_ratios: list = field(default_factory=lambda: [3.46, 2.05, 1.30, 1.03, 0.84, 0.69])
    final_drive: float = 3.65
    drivetrain_efficiency: float = 0.92
    wheel_inertia_kg_m2: float = 4.0         # all wheels, about the axles
    cog_height_m: float = 0.55
    l_front_m: float = 1.05                  # CoG to front axle
    l_rear_m: float = 1.59                   # CoG to rear axle
    driven_axle: str = "front"
    tire_mu: float = 1.0
    brake_max_bar: float = 120.0
    brake_force_n_per_bar: float = 125.0
    brake_tau_s: float = 0.05
    clutch_max_torque_nm: float = 500.0
    clutch_launch_rpm: float = 1800.0        # automatic launch clutch fully closed at this rpm
    clutch_damping_nm_s: float = 20.0
    rho_override_kg_m3: float = 0.0          # 0: density from ambient p and T


@dataclass
class DriverParams:
    """Driver model: speed tracking, gear choice, DRS use; the default lap."""
    kp_pct_per_kph: float = 8.0
    ki_pct_per_kph_s: float = 2.0
    brake_pct_per_kph: float = 6.0
    brake_decel_g: float = 0.8               # what the driver plans with when braking ahead
    upshift_rpm: float = 6300.0              # at full throttle
    downshift_rpm: float = 2200.0            # at full throttle
    upshift_rpm_light: float = 0.0           # at closed throttle, linear in between (0: upshift_rpm at every load)
    downshift_rpm_light: float = 0.0         # at closed throttle, linear in between (0: downshift_rpm at every load)
    min_gear_speed_kph: float = 4.0
    drs_min_speed_kph: float = 80.0
    lateral_mu: float = 0.95                 # corner speed from radius when not given
    track: list = field(default_factory=lambda: [
        {"kind": "straight", "length_m": 600.0, "speed_kph": 180.0},
        {"kind": "corner", "length_m": 150.0, "radius_m": 60.0},
        {"kind": "straight", "length_m": 400.0, "speed_kph": 160.0},
        {"kind": "corner", "length_m": 120.0, "radius_m": 35.0},
        {"kind": "straight", "length_m": 800.0, "speed_kph": 200.0},
        {"kind": "corner", "length_m": 200.0, "radius_m": 90.0},
    ])


@dataclass
class ElectricParams:
    """Electric motor-generator on the crank with its energy store (plants/electric.py)."""
    enabled: bool = False                    # the road car has none
    max_power_kw: float = 120.0              # motoring
    max_regen_kw: float = 120.0              # generating (harvest under braking)
    max_torque_nm: float = 200.0             # at the crank, through the machine's gear
    min_rpm: float = 3000.0                  # no torque below this crank speed
    efficiency: float = 0.95                 # machine + inverter, each direction
    capacity_mj: float = 4.0                 # usable energy of the store
    initial_soc_pct: float = 100.0
    min_soc_pct: float = 0.0                 # no deployment at or below this
    deploy_throttle_pct: float = 95.0        # full deployment at or above this throttle
    deploy_min_kph: float = 100.0            # ... above this speed (no launch deployment)
    harvest_brake_pct: float = 5.0           # harvest while braking above this


@dataclass
class SensorParams:
    """Global sensor settings (per-sensor ranges are those of the DBC, see plants/sensors.py)."""
    noise_scale: float = 1.0                 # 0 makes every sensor noise-free
    slow_period_steps: int = 10              # slow sensors and thermal states run every N steps


@dataclass
class PlantParams:
    engine: EngineParams = field(default_factory=EngineParams)
    thermal: ThermalParams = field(default_factory=ThermalParams)
    turbo: TurboParams = field(default_factory=TurboParams)
    exhaust: ExhaustParams = field(default_factory=ExhaustParams)
    vehicle: VehicleParams = field(default_factory=VehicleParams)
    driver: DriverParams = field(default_factory=DriverParams)
    electric: ElectricParams = field(default_factory=ElectricParams)
    sensors: SensorParams = field(default_factory=SensorParams)
    name: str = "custom"


SECTIONS = tuple(f.name for f in dataclasses.fields(PlantParams) if f.name != "name")


def param_names(params: PlantParams | None = None) -> tuple[str, ...]:
    """Every overridable parameter as 'section.field'."""
    params = params or PlantParams()
    out = []
    for sec in SECTIONS:
        for f in dataclasses.fields(getattr(params, sec)):
            out.append(f"{sec}.{f.name}")
    return tuple(out)


def param_sets() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PARAMS_DIR.glob("*.yaml")))


def _coerce(old: Any, value: Any, key: str) -> Any:
    if isinstance(old, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):   # a scenario's params are numbers
            return bool(value)
        raise PlantError(f"parameter {key!r} must be true/false, got {value!r}")
    if isinstance(old, int):
        if isinstance(value, (int, float)) and float(value).is_integer():
            return int(value)
        raise PlantError(f"parameter {key!r} must be an integer, got {value!r}")
    if isinstance(old, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise PlantError(f"parameter {key!r} must be a number, got {value!r}")
    if isinstance(old, list):
        if isinstance(value, (list, tuple)):
            return list(value)
        raise PlantError(f"parameter {key!r} must be a list, got {value!r}")
    if isinstance(old, str):
        return str(value)
    return value


def set_param(params: PlantParams, key: str, value: Any) -> None:
    """Set one 'section.field' parameter, rejecting unknown names with a suggestion."""
    sec, _, name = key.partition(".")
    valid = param_names(params)
    if sec not in SECTIONS or not name:
        raise unknown_name("parameter", key, valid)
    obj = getattr(params, sec)
    if not hasattr(obj, name) or name.startswith("_"):
        raise unknown_name("parameter", key, valid)
    setattr(obj, name, _coerce(getattr(obj, name), value, key))


def load_params(source: str | Path = "road_car", overrides: dict | None = None) -> PlantParams:
    """Parameters from a named set (plants/params/<name>.yaml) or a YAML path, plus overrides."""
    src = str(source)
    path = Path(src)
    if not (src.endswith((".yaml", ".yml")) or path.is_file()):
        if src not in param_sets():
            raise unknown_name("parameter set", src, param_sets())
        path = PARAMS_DIR / f"{src}.yaml"
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise PlantError(f"{path}: a parameter set must be a mapping of sections")
    params = PlantParams(name=str(data.pop("name", path.stem)))
    for sec, body in data.items():
        if sec not in SECTIONS:
            raise PlantError(f"{path}: " + str(unknown_name("section", sec, SECTIONS)))
        if not isinstance(body, dict):
            raise PlantError(f"{path}: section {sec!r} must be a mapping")
        for k, v in body.items():
            try:
                set_param(params, f"{sec}.{k}", v)
            except PlantError as err:
                raise PlantError(f"{path}: {err}") from None
    for k, v in (overrides or {}).items():
        set_param(params, k, v)
    validate(params)
    return params


def validate(p: PlantParams) -> None:
    """Reject values the physics cannot run with (they would give NaN or a crash)."""
    positive = ["engine.displacement_l", "engine.bore_m", "engine.manifold_volume_l",
                "engine.inertia_kg_m2", "engine.compression_ratio", "turbo.inertia_kg_m2",
                "vehicle.mass_kg", "vehicle.wheel_radius_m", "vehicle.final_drive",
                "thermal.coolant_heat_capacity_j_per_k", "thermal.oil_heat_capacity_j_per_k",
                "exhaust.cat_heat_capacity_j_per_k", "exhaust.lambda_tau_s",
                "electric.efficiency"]
    for key in positive:
        sec, name = key.split(".")
        if not getattr(getattr(p, sec), name) > 0:
            raise PlantError(f"parameter {key!r} must be > 0")
    if p.engine.n_cyl < 1 or p.engine.compression_ratio <= 1:
        raise PlantError("engine.n_cyl must be >= 1 and engine.compression_ratio > 1")
    if not p.vehicle.gear_ratios or any(g <= 0 for g in p.vehicle.gear_ratios):
        raise PlantError("vehicle.gear_ratios must be a non-empty list of positive ratios")
    if p.vehicle.driven_axle not in ("front", "rear"):
        raise PlantError(f"vehicle.driven_axle must be 'front' or 'rear', got {p.vehicle.driven_axle!r}")
    if p.electric.efficiency > 1.0 or p.electric.capacity_mj < 0.0 or p.electric.max_torque_nm < 0.0:
        raise PlantError("electric.efficiency must be in (0, 1], capacity_mj and max_torque_nm >= 0")
    if p.electric.enabled:
        # Accepting it would run the car without the machine and say nothing.
        raise PlantError("electric.enabled: the electric machine (plants/electric.py) is not "
                         "coupled to the composite plant yet; the car's power is the "
                         "engine's (docs/plants/electric.md, 'Status')")
    if p.sensors.slow_period_steps < 1:
        raise PlantError("sensors.slow_period_steps must be >= 1")
