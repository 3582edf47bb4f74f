"""Mean-value spark-ignition engine: air path, fuel, torque, knock and temperatures.

Equations from Eriksson & Nielsen, "Modeling and Control of Engines and Drivelines" (Wiley
2014), ch. 7, and the Linkoping VEP4 engine model; docs/plants/engine.md derives them and
gives the validity limits, docs/plants/references.md lists the sources and figures. The crank dynamics live in the composite
plant, because the engine shares its shaft with the driveline or the dyno.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._jit import Field, IntField, array, compile_kernels, kernel, plain
from .params import EngineParams, ThermalParams

R_AIR = 287.0
GAMMA_AIR = 1.4
T0_K = 273.15
FOUR_PI = 4.0 * math.pi

# Compressible orifice (throttle) flow function for gamma 1.4.
PI_CRIT = (2.0 / (GAMMA_AIR + 1.0)) ** (GAMMA_AIR / (GAMMA_AIR - 1.0))
PSI_MAX = math.sqrt(GAMMA_AIR * (2.0 / (GAMMA_AIR + 1.0)) ** ((GAMMA_AIR + 1.0) / (GAMMA_AIR - 1.0)))
PI_LIN = 0.97                       # linear below this pressure drop: no infinite slope at 1
_E1 = 2.0 / GAMMA_AIR
_E2 = (GAMMA_AIR + 1.0) / GAMMA_AIR
_K_PSI = 2.0 * GAMMA_AIR / (GAMMA_AIR - 1.0)
PSI_LIN = math.sqrt(_K_PSI * (PI_LIN ** _E1 - PI_LIN ** _E2))
SLOPE_LIN = PSI_LIN / (1.0 - PI_LIN)

THROTTLE_RAD_PER_PCT = 0.5 * math.pi * 0.01   # plate angle: 0 .. 100 % is 0 .. 90 deg
IDLE_WINDUP_BAND_RPM = 300.0        # idle integrator runs up to this far above idle speed
IDLE_BLEED_PCT_PER_S = 20.0         # ... and bleeds off at this rate beyond it (overrun)
MIN_VOL_EFF = 0.05                  # floor of eta_v (extreme back-pressure)
MIN_MANIFOLD_PA = 500.0             # floor of p_im: the model ends at a hard vacuum
MIN_CYCLES_PER_S = 1e-3             # no fuel per cycle from the wall film below this
MIN_FUEL_KG = 1e-12                 # below this per cycle there is no mixture to speak of
LAMBDA_NO_FUEL = 10.0               # lambda reported without fuel (a lean reading)
REV_LIMITER_HYSTERESIS_RPM = 150.0
MIN_FIRING_RPM = 30.0               # no combustion (and no knock signal) below this speed
LEAN_PARTIAL_BURN_LAMBDA = 0.2      # partial burns start this far below the lean limit
LEAN_MISFIRE_LAMBDA = 0.4           # ... and every cycle misfires this far above it
LEAN_BURN_SPAN_LAMBDA = 0.6         # the two together: the span of the quadratic fall
PUMPING_FULL_RPM = 60.0             # pumping work fades in from standstill to this speed
MAX_KNOCK_EXPONENT = 5.0            # knock intensity <= e^5
KNOCK_BG_BASE = 0.6                 # sensor background: base share at standstill ...
KNOCK_BG_SPEED = 0.4                # ... rising by this share at the redline
KNOCK_BG_SPREAD = 0.25              # ... with this cycle-to-cycle spread (x a normal deviate)
MBT_MIN_DEG, MBT_MAX_DEG = 10.0, 45.0


@kernel
def throttle_psi(pr: float) -> tuple[float, float]:
    """Orifice flow function Psi(p_down/p_up) and its derivative (linear near 1, reverse flow)."""
    if pr <= PI_CRIT:
        return PSI_MAX, 0.0
    if pr <= PI_LIN:
        a = pr ** _E1
        b = pr ** _E2
        psi = math.sqrt(_K_PSI * (a - b))
        return psi, _K_PSI * (_E1 * a / pr - _E2 * b / pr) / (2.0 * psi)
    psi = PSI_LIN - SLOPE_LIN * (pr - PI_LIN)
    if psi < -PSI_MAX:
        return -PSI_MAX, 0.0
    return psi, -SLOPE_LIN


_DEFAULT_VE_POLY = EngineParams().ve_poly


@kernel
def _ve_factor(p_im_kpa, poly, p_max_kpa):
    p = 20.0 if p_im_kpa < 20.0 else (p_max_kpa if p_im_kpa > p_max_kpa else p_im_kpa)
    c = 0.0
    for k in poly:
        c = c * p + k
    return c


@kernel
def _vol_eff(p_im_kpa, p_em_kpa, r_c, t_ratio, poly, p_max_kpa):
    ratio = p_em_kpa / (1.0 if 1.0 > p_im_kpa else p_im_kpa)   # max(p_im_kpa, 1.0)
    resid = ratio ** (1.0 / GAMMA_AIR)
    if resid > r_c - 0.5:
        resid = r_c - 0.5
    return _ve_factor(p_im_kpa, poly, p_max_kpa) * (r_c - resid) / (r_c - 1.0) * t_ratio


def ve_pressure_factor(p_im_kpa: float, poly=_DEFAULT_VE_POLY, p_max_kpa: float = 200.0) -> float:
    """C(p_im) of VEP4: a quartic in p_im [kPa], clamped to its fitted range 20..p_max."""
    return float(plain(_ve_factor)(float(p_im_kpa), array(poly), float(p_max_kpa)))


def volumetric_efficiency(p_im_kpa: float, p_em_kpa: float, r_c: float = 9.5,
                          t_ratio: float = 1.0, poly=_DEFAULT_VE_POLY,
                          p_max_kpa: float = 200.0) -> float:
    """VEP4: eta_v = C(p_im) (r_c - (p_em/p_im)^(1/gamma)) / (r_c - 1) * T_im/T_in,
    C clamped to its fitted range 20..p_max_kpa (engine.ve_poly_max_kpa)."""
    return float(plain(_vol_eff)(float(p_im_kpa), float(p_em_kpa), float(r_c), float(t_ratio),
                                 array(poly), float(p_max_kpa)))


@kernel
def _spark_eff(d):
    if d < -20.0:
        # The cubic turns up again beyond about -30 deg; continue with its slope at -20.
        eta = 0.9090 + 0.0072 * (d + 20.0)
    else:
        x = d * 0.01
        eta = 1.0 - 3.217 * x * x - 4.722 * x * x * x
    return 0.05 if eta < 0.05 else eta


def spark_efficiency(advance_minus_mbt_deg: float) -> float:
    """Linkoping cubic: 1 - 3.217 (d/100)^2 - 4.722 (d/100)^3, linear beyond -20 deg retard."""
    return float(plain(_spark_eff)(float(advance_minus_mbt_deg)))


@kernel
def _fmep(speed_rpm, bmep_pa, stroke_m, bore_m, xi_aux, pi_bl):
    sp = 2.0 * stroke_m * speed_rpm / 60.0
    bmep = bmep_pa if bmep_pa > 0.0 else 0.0
    return xi_aux * ((0.464 + 0.0072 * sp ** 1.8) * pi_bl * 1e5 + 0.0215 * bmep) * math.sqrt(0.075 / bore_m)


def friction_mep_pa(speed_rpm: float, bmep_pa: float, stroke_m: float, bore_m: float,
                    xi_aux: float = 0.487, pi_bl: float = 1.85) -> float:
    """VEP4 friction mean effective pressure [Pa]."""
    return float(plain(_fmep)(float(speed_rpm), float(bmep_pa), float(stroke_m),
                              float(bore_m), float(xi_aux), float(pi_bl)))


@kernel
def _mbt(base_deg, rpm_deg_per_krpm, load_deg_per_100kpa, speed_rpm, p_im_kpa):
    mbt = (base_deg + rpm_deg_per_krpm * (speed_rpm - 2000.0) * 1e-3
           - load_deg_per_100kpa * (p_im_kpa - 100.0) * 0.01)
    return MBT_MIN_DEG if mbt < MBT_MIN_DEG else (MBT_MAX_DEG if mbt > MBT_MAX_DEG else mbt)


def mbt_spark_deg(p: EngineParams, speed_rpm: float, p_im_kpa: float) -> float:
    """Spark advance for maximum brake torque: ~35 deg at idle, ~22-26 deg at full boost."""
    return float(plain(_mbt)(float(p.mbt_base_deg), float(p.mbt_rpm_deg_per_krpm),
                             float(p.mbt_load_deg_per_100kpa), float(speed_rpm), float(p_im_kpa)))


@kernel
def _kls(ref_deg, map_deg_per_kpa, iat_deg_per_k, coolant_deg_per_k, octane_deg_per_ron,
         octane_ron, rpm_deg_per_krpm, rich_deg_per_lambda, speed_rpm, p_im_kpa, t_im_k,
         t_coolant_k, lam):
    lam = 0.7 if lam < 0.7 else (1.5 if lam > 1.5 else lam)
    return (ref_deg - map_deg_per_kpa * (p_im_kpa - 100.0)
            - iat_deg_per_k * (t_im_k - 313.15)
            - coolant_deg_per_k * (t_coolant_k - 363.15)
            + octane_deg_per_ron * (octane_ron - 95.0)
            + rpm_deg_per_krpm * (speed_rpm - 3000.0) * 1e-3
            + rich_deg_per_lambda * (1.0 - lam))


def knock_limited_spark_deg(p: EngineParams, speed_rpm: float, p_im_kpa: float, t_im_k: float,
                            t_coolant_k: float, lam: float) -> float:
    """Knock-limited spark advance: an affine borderline model (docs/plants/engine.md)."""
    return float(plain(_kls)(float(p.kls_ref_deg), float(p.kls_map_deg_per_kpa),
                             float(p.kls_iat_deg_per_k), float(p.kls_coolant_deg_per_k),
                             float(p.kls_octane_deg_per_ron), float(p.octane_ron),
                             float(p.kls_rpm_deg_per_krpm), float(p.kls_rich_deg_per_lambda),
                             float(speed_rpm), float(p_im_kpa), float(t_im_k),
                             float(t_coolant_k), float(lam)))


@dataclass(slots=True)
class EngineInputs:
    """What drives the engine for one step: crank speed, air supply, ECU commands, health.

    The composite plant keeps one and updates it in place every step (cheaper than keyword
    arguments on the hottest call of the bench); tests build their own.
    """
    speed_rpm: float = 0.0                # crank speed
    throttle_cmd_pct: float = 0.0         # driver's throttle; the idle regulator may open more
    p_up_pa: float = 101325.0             # pressure before the throttle (boost)
    t_im_k: float = 298.15                # charge temperature (intercooler outlet)
    p_em_pa: float = 101325.0             # exhaust manifold pressure
    fuel_mg: float = 0.0                  # injected fuel per cylinder and cycle (ECU)
    spark_deg: float = 10.0               # spark advance BTDC (ECU)
    fuel_cut: float = 0.0                 # >= 0.5 cuts injection (ECU)
    spark_cut: float = 0.0                # >= 0.5 cuts ignition (ECU)
    injector_factor: float = 1.0          # part health: injected mass x this
    knock_sensitivity: float = 1.0        # part health: knock sensor signal x this
    idle_control: bool = True             # the electronic throttle's idle-air regulator (off on the dyno)


#: The engine's state, in the order of its state array (the attributes of Engine).
ENGINE_STATE = ("p_im_pa", "throttle_pct", "idle_pct", "film_kg", "coolant_k", "oil_k",
                "knock_phase", "knock_signal", "knock_events", "rev_limiter", "bmep_pa",
                "air_flow_kg_s", "throttle_flow_kg_s", "fuel_flow_kg_s", "burned_fuel_kg_s",
                "lam", "torque_nm", "ind_torque_nm", "friction_torque_nm", "eta_ign",
                "eta_total", "mbt_deg", "kls_deg", "knock_true", "vol_eff", "combusting",
                "_ni")
(E_P_IM, E_THR, E_IDLE, E_FILM, E_COOL, E_OIL, E_KPHASE, E_KSIG, E_KEV, E_REV, E_BMEP,
 E_AIR, E_THF, E_FUEL, E_BURN, E_LAM, E_TQ, E_IND, E_FRIC, E_ETA_IGN, E_ETA_TOT, E_MBT,
 E_KLS, E_KTRUE, E_VE, E_COMB, E_NI) = range(len(ENGINE_STATE))

#: The engine's parameters (EngineParams and ThermalParams fields, then derived values),
#: in the order of its parameter array.
ENGINE_PARAMS = ("stall_rpm", "idle_rpm", "idle_integral_pct_per_rpm_s", "idle_max_pct",
                 "idle_gain_pct_per_rpm", "throttle_tau_s", "charge_heating",
                 "compression_ratio", "ve_poly_max_kpa", "n_cyl", "wall_film_fraction",
                 "wall_film_tau_s", "afr_stoich", "rev_limit_rpm", "lean_limit_lambda",
                 "q_hv_j_per_kg", "bore_m", "friction_xi_aux", "friction_pi_bl",
                 "mbt_base_deg", "mbt_rpm_deg_per_krpm", "mbt_load_deg_per_100kpa",
                 "kls_ref_deg", "kls_map_deg_per_kpa", "kls_iat_deg_per_k",
                 "kls_coolant_deg_per_k", "kls_octane_deg_per_ron", "octane_ron",
                 "kls_rpm_deg_per_krpm", "kls_rich_deg_per_lambda", "knock_slope_deg",
                 "knock_cycle_spread", "knock_background", "redline_rpm")
THERMAL_PARAMS = ("coolant_heat_fraction", "coolant_heat_capacity_j_per_k",
                  "oil_heat_capacity_j_per_k", "thermostat_open_c", "thermostat_full_c",
                  "thermostat_leak", "radiator_ua_w_per_k", "radiator_ua_per_mps", "fan_on_c",
                  "fan_ua_w_per_k", "block_loss_ua_w_per_k", "friction_heat_to_oil",
                  "oil_coolant_ua_w_per_k", "oil_ambient_ua_w_per_k")
_ENGINE_DERIVED = ("vd_m3", "stroke_m", "eta_ig", "v_im_m3", "a_th_max", "a_leak", "nn")
(EP_STALL, EP_IDLE, EP_IDLE_I, EP_IDLE_MAX, EP_IDLE_GAIN, EP_TH_TAU, EP_CH_HEAT, EP_RC,
 EP_VE_MAX, EP_NCYL, EP_WF_X, EP_WF_TAU, EP_AFR, EP_REV, EP_LEAN, EP_QHV, EP_BORE, EP_XI_AUX,
 EP_PI_BL, EP_MBT0, EP_MBT_RPM, EP_MBT_LOAD, EP_KLS0, EP_KLS_MAP, EP_KLS_IAT, EP_KLS_COOL,
 EP_KLS_OCT, EP_OCTANE, EP_KLS_RPM, EP_KLS_RICH, EP_KN_SLOPE, EP_KN_SPREAD, EP_KN_BG,
 EP_REDLINE,
 TH_FRAC, TH_C_COOL, TH_C_OIL, TH_TH_OPEN, TH_TH_FULL, TH_TH_LEAK, TH_RAD_UA, TH_RAD_UA_V,
 TH_FAN_ON, TH_FAN_UA, TH_BLOCK_UA, TH_FR_OIL, TH_OC_UA, TH_OA_UA,
 EP_VD, EP_STROKE, EP_ETA_IG, EP_VIM, EP_ATH, EP_ALEAK, EP_NN) = range(
    len(ENGINE_PARAMS) + len(THERMAL_PARAMS) + len(_ENGINE_DERIVED))


class Engine:
    """Air path, fuel path, torque, knock and temperatures of a mean-value SI engine.

    State: manifold pressure, throttle position, idle-air integrator, wall film, knock
    sensor phase and the coolant / oil temperatures, in the array ``st`` (ENGINE_STATE; the
    attributes of the same names read and write it). `step` runs every step (throttle,
    manifold, fuel, torque, knock); `thermal` runs at the slow rate. Both run the kernels
    below (:mod:`plants._jit`).
    """

    p_im_pa = Field(E_P_IM)
    throttle_pct = Field(E_THR)
    idle_pct = Field(E_IDLE)
    film_kg = Field(E_FILM)
    coolant_k = Field(E_COOL)
    oil_k = Field(E_OIL)
    knock_phase = Field(E_KPHASE)
    knock_signal = Field(E_KSIG)
    knock_events = IntField(E_KEV)
    rev_limiter = IntField(E_REV)
    bmep_pa = Field(E_BMEP)
    air_flow_kg_s = Field(E_AIR)
    throttle_flow_kg_s = Field(E_THF)
    fuel_flow_kg_s = Field(E_FUEL)
    burned_fuel_kg_s = Field(E_BURN)
    lam = Field(E_LAM)
    torque_nm = Field(E_TQ)
    ind_torque_nm = Field(E_IND)
    friction_torque_nm = Field(E_FRIC)
    eta_ign = Field(E_ETA_IGN)
    eta_total = Field(E_ETA_TOT)
    mbt_deg = Field(E_MBT)
    kls_deg = Field(E_KLS)
    knock_true = Field(E_KTRUE)
    vol_eff = Field(E_VE)
    combusting = IntField(E_COMB)
    _ni = IntField(E_NI)

    def __init__(self, p: EngineParams, th: ThermalParams, noise: list[float],
                 noise_array=None) -> None:
        compile_kernels()
        self.p = p
        self.th = th
        self.vd_m3 = p.displacement_l * 1e-3
        self.stroke_m = self.vd_m3 / p.n_cyl / (math.pi / 4.0 * p.bore_m ** 2)
        self.eta_ig = p.eta_ig_ch * (1.0 - p.compression_ratio ** (1.0 - p.gamma_cyl))
        self.v_im_m3 = p.manifold_volume_l * 1e-3
        self.a_th_max = p.throttle_cd * math.pi / 4.0 * p.throttle_diameter_m ** 2
        self.a_leak = p.throttle_leak_area_m2
        self._noise = noise
        self._nn = len(noise)
        self.noise = array(noise) if noise_array is None else noise_array
        self.pa = array([float(getattr(p, n)) for n in ENGINE_PARAMS]
                        + [float(getattr(th, n)) for n in THERMAL_PARAMS]
                        + [float(getattr(self, n)) if n != "nn" else float(self._nn)
                           for n in _ENGINE_DERIVED])
        self.poly = array(p.ve_poly)
        self.st = array([0.0] * len(ENGINE_STATE))
        self.st[E_NI] = 7.0                  # the knock sensor's noise index (reset keeps it)
        self.reset()

    def reset(self, p_im_pa: float = 101325.0, coolant_c: float = 20.0, oil_c: float = 20.0) -> None:
        values = dict.fromkeys(ENGINE_STATE, 0.0)
        values.update(p_im_pa=p_im_pa, coolant_k=coolant_c + T0_K, oil_k=oil_c + T0_K,
                      lam=10.0, eta_ign=1.0, mbt_deg=30.0, kls_deg=40.0, vol_eff=0.9)
        st = self.st
        for i, name in enumerate(ENGINE_STATE):
            if i != E_NI:
                st[i] = float(values[name])

    def step(self, dt: float, inputs: EngineInputs) -> None:
        """Advance the engine by `dt` [s]; results are the attributes set here (torque_nm,
        air_flow_kg_s, throttle_flow_kg_s, lam, knock_signal, ...)."""
        engine_step(self.st, self.pa, self.poly, self.noise, float(dt), float(inputs.speed_rpm),
                    float(inputs.throttle_cmd_pct), float(inputs.p_up_pa),
                    float(inputs.t_im_k), float(inputs.p_em_pa), float(inputs.fuel_mg),
                    float(inputs.spark_deg), float(inputs.fuel_cut), float(inputs.spark_cut),
                    float(inputs.injector_factor), float(inputs.knock_sensitivity),
                    1.0 if inputs.idle_control else 0.0)

    def thermal(self, dt: float, t_amb_k: float, speed_mps: float, friction_power_w: float,
                cooling_factor: float) -> None:
        """Coolant and oil temperatures: lumped capacities, thermostat, radiator, fan."""
        engine_thermal(self.st, self.pa, float(dt), float(t_amb_k), float(speed_mps),
                       float(friction_power_w), float(cooling_factor))


@kernel
def engine_step(st, pa, poly, noise, dt, speed_rpm, throttle_cmd_pct, p_up_pa, t_im_k, p_em_pa,
                fuel_mg, spark_deg, fuel_cut, spark_cut, injector_factor, knock_sensitivity,
                idle_control):
    """One step of the engine over its state `st` and parameters `pa` (Engine.step).

    One function on purpose: it is the hottest path of the bench.
    """
    # --- throttle actuator, with the electronic throttle's idle-air regulator (PI) -----
    if idle_control != 0.0 and speed_rpm > pa[EP_STALL]:
        err = pa[EP_IDLE] - speed_rpm
        if err > -IDLE_WINDUP_BAND_RPM:
            st[E_IDLE] += pa[EP_IDLE_I] * err * dt
        else:                        # far above idle (overrun): bleed the integrator off
            st[E_IDLE] -= IDLE_BLEED_PCT_PER_S * dt
        if st[E_IDLE] < 0.0:
            st[E_IDLE] = 0.0
        elif st[E_IDLE] > pa[EP_IDLE_MAX]:
            st[E_IDLE] = pa[EP_IDLE_MAX]
        idle = st[E_IDLE] + pa[EP_IDLE_GAIN] * err
        cmd = throttle_cmd_pct if throttle_cmd_pct > idle else idle
    else:
        cmd = throttle_cmd_pct
    cmd = 0.0 if cmd < 0.0 else (100.0 if cmd > 100.0 else cmd)
    st[E_THR] += (cmd - st[E_THR]) * dt / (pa[EP_TH_TAU] + dt)
    area = pa[EP_ALEAK] + pa[EP_ATH] * (1.0 - math.cos(THROTTLE_RAD_PER_PCT * st[E_THR]))

    # --- intake manifold: isothermal filling, linearised implicit Euler ----------------
    p_im = st[E_P_IM]
    t_in = t_im_k + pa[EP_CH_HEAT] * (st[E_COOL] - t_im_k)
    ve = _vol_eff(p_im * 1e-3, p_em_pa * 1e-3, pa[EP_RC], t_im_k / t_in, poly, pa[EP_VE_MAX])
    if ve < MIN_VOL_EFF:
        ve = MIN_VOL_EFF
    st[E_VE] = ve
    vd = pa[EP_VD]
    n_rps = speed_rpm / 60.0
    a_cyl = ve * vd * n_rps / (2.0 * R_AIR * t_im_k)       # W_cyl = a_cyl * p_im
    c_th = area / math.sqrt(R_AIR * t_im_k)
    psi, dpsi = throttle_psi(p_im / p_up_pa)
    w_th = c_th * p_up_pa * psi
    k_im = R_AIR * t_im_k / pa[EP_VIM]
    f = k_im * (w_th - a_cyl * p_im)
    dfdp = k_im * (c_th * dpsi - a_cyl)
    dp = dt * f / (1.0 - dt * dfdp)
    p_new = p_im + dp
    if p_new < MIN_MANIFOLD_PA:
        p_new = MIN_MANIFOLD_PA
    st[E_P_IM] = p_new
    st[E_THF] = w_th + c_th * dpsi * dp
    st[E_AIR] = a_cyl * p_new
    p_im_kpa = p_new * 1e-3

    # --- fuel: injector command x injector health, optional x-tau wall film ------------
    n_cyl = pa[EP_NCYL]
    cyc_per_s = n_rps * 0.5 * n_cyl                               # cylinder events / s
    mf_inj = (0.0 if fuel_cut >= 0.5
              else (fuel_mg if fuel_mg > 0.0 else 0.0) * 1e-6 * injector_factor)
    if pa[EP_WF_X] > 0.0:
        x = pa[EP_WF_X]
        w_inj = mf_inj * cyc_per_s
        out = st[E_FILM] / pa[EP_WF_TAU]
        st[E_FILM] += (x * w_inj - out) * dt
        w_f = (1.0 - x) * w_inj + out
        mf = w_f / cyc_per_s if cyc_per_s > MIN_CYCLES_PER_S else 0.0
    else:
        mf = mf_inj
        w_f = mf * cyc_per_s
    st[E_FUEL] = w_f
    m_air_cyl = ve * p_new * vd / (n_cyl * R_AIR * t_im_k)
    lam = m_air_cyl / (pa[EP_AFR] * mf) if mf > MIN_FUEL_KG else LAMBDA_NO_FUEL
    if lam > LAMBDA_NO_FUEL:
        lam = LAMBDA_NO_FUEL
    st[E_LAM] = lam

    # --- rev limiter of the ignition hardware, spark cut ------------------------------
    if speed_rpm > pa[EP_REV]:
        st[E_REV] = 1.0
    elif speed_rpm < pa[EP_REV] - REV_LIMITER_HYSTERESIS_RPM:
        st[E_REV] = 0.0
    lean = pa[EP_LEAN]
    fires = (mf > 0.0 and spark_cut < 0.5 and st[E_REV] == 0.0
             and lam < lean + LEAN_MISFIRE_LAMBDA and speed_rpm > MIN_FIRING_RPM)

    # --- torque: indicated work x spark and mixture efficiency, friction, pumping ------
    mbt = _mbt(pa[EP_MBT0], pa[EP_MBT_RPM], pa[EP_MBT_LOAD], speed_rpm, p_im_kpa)
    st[E_MBT] = mbt
    if fires:
        eta_ign = _spark_eff(spark_deg - mbt)
        eta_lam = lam if lam < 1.0 else 1.0
        if lam > lean - LEAN_PARTIAL_BURN_LAMBDA:
            # partial burns and misfires towards the lean limit
            q = (lam - lean + LEAN_PARTIAL_BURN_LAMBDA) / LEAN_BURN_SPAN_LAMBDA
            eta_lam *= 0.0 if q >= 1.0 else 1.0 - q * q
        st[E_COMB] = 1.0
    else:
        eta_ign = 0.0
        eta_lam = 0.0
        st[E_COMB] = 0.0
    st[E_ETA_IGN] = eta_ign
    st[E_BURN] = w_f * eta_lam
    eta_ig = pa[EP_ETA_IG]
    w_ig = mf * pa[EP_QHV] * eta_ig * eta_lam * n_cyl          # J per cycle
    st[E_ETA_TOT] = eta_ig * eta_ign
    t_ig = eta_ign * w_ig / FOUR_PI
    fmep = _fmep(speed_rpm, st[E_BMEP], pa[EP_STROKE], pa[EP_BORE], pa[EP_XI_AUX], pa[EP_PI_BL])
    t_fr = vd * fmep / FOUR_PI
    t_pump = vd * (p_em_pa - p_new) / FOUR_PI
    if speed_rpm < PUMPING_FULL_RPM:              # no pumping loop without rotation
        t_pump *= speed_rpm / PUMPING_FULL_RPM
    st[E_IND] = t_ig
    st[E_FRIC] = t_fr + t_pump
    tq = t_ig - t_fr - t_pump
    st[E_TQ] = tq
    st[E_BMEP] = FOUR_PI * tq / vd

    # --- knock: intensity beyond the knock-limited spark; one sensor sample per event --
    kls = _kls(pa[EP_KLS0], pa[EP_KLS_MAP], pa[EP_KLS_IAT], pa[EP_KLS_COOL], pa[EP_KLS_OCT],
               pa[EP_OCTANE], pa[EP_KLS_RPM], pa[EP_KLS_RICH], speed_rpm, p_im_kpa, t_im_k,
               st[E_COOL], lam)
    st[E_KLS] = kls
    if fires:
        e = (spark_deg - kls) / pa[EP_KN_SLOPE]
        ki = math.exp(e if e < MAX_KNOCK_EXPONENT else MAX_KNOCK_EXPONENT)
    else:
        ki = 0.0
    st[E_KTRUE] = ki
    st[E_KPHASE] += cyc_per_s * dt
    if st[E_KPHASE] >= 1.0:
        st[E_KPHASE] -= float(int(st[E_KPHASE]))
        i = int(st[E_NI])
        g1 = noise[i]
        g2 = noise[i + 1]
        st[E_NI] = float(i + 2) if i + 3 < pa[EP_NN] else 0.0
        s = pa[EP_KN_SPREAD]
        cycle = ki * math.exp(s * g1 - 0.5 * s * s) if ki > 0.0 else 0.0   # log-normal, mean ki
        if cycle >= 1.0:
            st[E_KEV] += 1.0
        bg = (pa[EP_KN_BG] * (KNOCK_BG_BASE + KNOCK_BG_SPEED * speed_rpm / pa[EP_REDLINE])
              * (1.0 + KNOCK_BG_SPREAD * g2))
        st[E_KSIG] = knock_sensitivity * ((bg if bg > 0.0 else 0.0) + cycle)
    elif speed_rpm < MIN_FIRING_RPM:
        st[E_KSIG] = 0.0


@kernel
def engine_thermal(st, pa, dt, t_amb_k, speed_mps, friction_power_w, cooling_factor):
    """Coolant and oil temperatures over the engine's state (Engine.thermal)."""
    q_in = pa[TH_FRAC] * st[E_BURN] * pa[EP_QHV] * (0.5 + 0.5 * st[E_ETA_IGN])
    fr = friction_power_w if friction_power_w > 0.0 else 0.0
    q_fr_oil = pa[TH_FR_OIL] * fr
    q_in += fr - q_fr_oil
    tc = st[E_COOL]
    tc_c = tc - T0_K
    open_ = (tc_c - pa[TH_TH_OPEN]) / (pa[TH_TH_FULL] - pa[TH_TH_OPEN])
    open_ = pa[TH_TH_LEAK] if open_ < pa[TH_TH_LEAK] else (1.0 if open_ > 1.0 else open_)
    ua = pa[TH_RAD_UA] + pa[TH_RAD_UA_V] * speed_mps
    if tc_c > pa[TH_FAN_ON]:
        ua += pa[TH_FAN_UA]
    ua *= open_ * cooling_factor
    q_oc = pa[TH_OC_UA] * (st[E_OIL] - tc)
    q_out = ua * (tc - t_amb_k) + pa[TH_BLOCK_UA] * (tc - t_amb_k)
    st[E_COOL] = tc + dt * (q_in + q_oc - q_out) / pa[TH_C_COOL]
    q_oa = pa[TH_OA_UA] * (1.0 + 0.05 * speed_mps) * (st[E_OIL] - t_amb_k)
    st[E_OIL] += dt * (q_fr_oil - q_oc - q_oa) / pa[TH_C_OIL]
