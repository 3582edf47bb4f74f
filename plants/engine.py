"""Mean-value spark-ignition engine: air path, fuel, torque, knock and temperatures.

Equations from Eriksson & Nielsen, "Modeling and Control of Engines and Drivelines" (Wiley
2014), ch. 7, and the Linkoping VEP4 engine model; docs/plants/engine.md derives them and
gives the validity limits, docs/plants/references.md lists the sources and figures. The crank dynamics live in the composite
plant, because the engine shares its shaft with the driveline or the dyno.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def ve_pressure_factor(p_im_kpa: float, poly=_DEFAULT_VE_POLY, p_max_kpa: float = 200.0) -> float:
    """C(p_im) of VEP4: a quartic in p_im [kPa], clamped to its fitted range 20..p_max."""
    p = 20.0 if p_im_kpa < 20.0 else (p_max_kpa if p_im_kpa > p_max_kpa else p_im_kpa)
    c = 0.0
    for k in poly:
        c = c * p + k
    return c


def volumetric_efficiency(p_im_kpa: float, p_em_kpa: float, r_c: float = 9.5,
                          t_ratio: float = 1.0, poly=_DEFAULT_VE_POLY,
                          p_max_kpa: float = 200.0) -> float:
    """VEP4: eta_v = C(p_im) (r_c - (p_em/p_im)^(1/gamma)) / (r_c - 1) * T_im/T_in,
    C clamped to its fitted range 20..p_max_kpa (engine.ve_poly_max_kpa)."""
    ratio = p_em_kpa / max(p_im_kpa, 1.0)
    resid = ratio ** (1.0 / GAMMA_AIR)
    if resid > r_c - 0.5:
        resid = r_c - 0.5
    return ve_pressure_factor(p_im_kpa, poly, p_max_kpa) * (r_c - resid) / (r_c - 1.0) * t_ratio


def spark_efficiency(advance_minus_mbt_deg: float) -> float:
    """Linkoping cubic: 1 - 3.217 (d/100)^2 - 4.722 (d/100)^3, linear beyond -20 deg retard."""
    d = advance_minus_mbt_deg
    if d < -20.0:
        # The cubic turns up again beyond about -30 deg; continue with its slope at -20.
        eta = 0.9090 + 0.0072 * (d + 20.0)
    else:
        x = d * 0.01
        eta = 1.0 - 3.217 * x * x - 4.722 * x * x * x
    return 0.05 if eta < 0.05 else eta


def friction_mep_pa(speed_rpm: float, bmep_pa: float, stroke_m: float, bore_m: float,
                    xi_aux: float = 0.487, pi_bl: float = 1.85) -> float:
    """VEP4 friction mean effective pressure [Pa]."""
    sp = 2.0 * stroke_m * speed_rpm / 60.0
    bmep = bmep_pa if bmep_pa > 0.0 else 0.0
    return xi_aux * ((0.464 + 0.0072 * sp ** 1.8) * pi_bl * 1e5 + 0.0215 * bmep) * math.sqrt(0.075 / bore_m)


def mbt_spark_deg(p: EngineParams, speed_rpm: float, p_im_kpa: float) -> float:
    """Spark advance for maximum brake torque: ~35 deg at idle, ~22-26 deg at full boost."""
    mbt = (p.mbt_base_deg + p.mbt_rpm_deg_per_krpm * (speed_rpm - 2000.0) * 1e-3
           - p.mbt_load_deg_per_100kpa * (p_im_kpa - 100.0) * 0.01)
    return MBT_MIN_DEG if mbt < MBT_MIN_DEG else (MBT_MAX_DEG if mbt > MBT_MAX_DEG else mbt)


def knock_limited_spark_deg(p: EngineParams, speed_rpm: float, p_im_kpa: float, t_im_k: float,
                            t_coolant_k: float, lam: float) -> float:
    """Knock-limited spark advance: an affine borderline model (docs/plants/engine.md)."""
    lam = 0.7 if lam < 0.7 else (1.5 if lam > 1.5 else lam)
    return (p.kls_ref_deg - p.kls_map_deg_per_kpa * (p_im_kpa - 100.0)
            - p.kls_iat_deg_per_k * (t_im_k - 313.15)
            - p.kls_coolant_deg_per_k * (t_coolant_k - 363.15)
            + p.kls_octane_deg_per_ron * (p.octane_ron - 95.0)
            + p.kls_rpm_deg_per_krpm * (speed_rpm - 3000.0) * 1e-3
            + p.kls_rich_deg_per_lambda * (1.0 - lam))


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


class Engine:
    """Air path, fuel path, torque, knock and temperatures of a mean-value SI engine.

    State: manifold pressure, throttle position, idle-air integrator, wall film, knock
    sensor phase and the coolant / oil temperatures. `step` runs every step (throttle,
    manifold, fuel, torque, knock); `thermal` runs at the slow rate.
    """

    def __init__(self, p: EngineParams, th: ThermalParams, noise: list[float]) -> None:
        self.p = p
        self.th = th
        self.vd_m3 = p.displacement_l * 1e-3
        self.stroke_m = self.vd_m3 / p.n_cyl / (math.pi / 4.0 * p.bore_m ** 2)
        self.eta_ig = p.eta_ig_ch * (1.0 - p.compression_ratio ** (1.0 - p.gamma_cyl))
        self.v_im_m3 = p.manifold_volume_l * 1e-3
        self.a_th_max = p.throttle_cd * math.pi / 4.0 * p.throttle_diameter_m ** 2
        self.a_leak = p.throttle_leak_area_m2
        self._noise = noise
        self._ni = 7
        self._nn = len(noise)
        self.reset()

    def reset(self, p_im_pa: float = 101325.0, coolant_c: float = 20.0, oil_c: float = 20.0) -> None:
        self.p_im_pa = p_im_pa
        self.throttle_pct = 0.0
        self.idle_pct = 0.0
        self.film_kg = 0.0
        self.coolant_k = coolant_c + T0_K
        self.oil_k = oil_c + T0_K
        self.knock_phase = 0.0
        self.knock_signal = 0.0
        self.knock_events = 0
        self.rev_limiter = 0
        self.bmep_pa = 0.0
        self.air_flow_kg_s = 0.0
        self.throttle_flow_kg_s = 0.0
        self.fuel_flow_kg_s = 0.0
        self.burned_fuel_kg_s = 0.0
        self.lam = 10.0
        self.torque_nm = 0.0
        self.ind_torque_nm = 0.0
        self.friction_torque_nm = 0.0
        self.eta_ign = 1.0
        self.eta_total = 0.0
        self.mbt_deg = 30.0
        self.kls_deg = 40.0
        self.knock_true = 0.0
        self.vol_eff = 0.9
        self.combusting = 0

    def step(self, dt: float, inputs: EngineInputs) -> None:
        """Advance the engine by `dt` [s]; results are the attributes set here (torque_nm,
        air_flow_kg_s, throttle_flow_kg_s, lam, knock_signal, ...).

        One function on purpose: it is the hottest path of the bench, and each section
        below as a method of its own would cost about 5 % of the plant step.
        """
        speed_rpm = inputs.speed_rpm
        t_im_k = inputs.t_im_k
        p_up_pa = inputs.p_up_pa
        p_em_pa = inputs.p_em_pa
        spark_deg = inputs.spark_deg
        p = self.p
        # --- throttle actuator, with the electronic throttle's idle-air regulator (PI) -----
        throttle_cmd_pct = inputs.throttle_cmd_pct
        if inputs.idle_control and speed_rpm > p.stall_rpm:
            err = p.idle_rpm - speed_rpm
            if err > -IDLE_WINDUP_BAND_RPM:
                self.idle_pct += p.idle_integral_pct_per_rpm_s * err * dt
            else:                        # far above idle (overrun): bleed the integrator off
                self.idle_pct -= IDLE_BLEED_PCT_PER_S * dt
            if self.idle_pct < 0.0:
                self.idle_pct = 0.0
            elif self.idle_pct > p.idle_max_pct:
                self.idle_pct = p.idle_max_pct
            idle = self.idle_pct + p.idle_gain_pct_per_rpm * err
            cmd = throttle_cmd_pct if throttle_cmd_pct > idle else idle
        else:
            cmd = throttle_cmd_pct
        cmd = 0.0 if cmd < 0.0 else (100.0 if cmd > 100.0 else cmd)
        self.throttle_pct += (cmd - self.throttle_pct) * dt / (p.throttle_tau_s + dt)
        area = self.a_leak + self.a_th_max * (1.0 - math.cos(THROTTLE_RAD_PER_PCT * self.throttle_pct))

        # --- intake manifold: isothermal filling, linearised implicit Euler ----------------
        p_im = self.p_im_pa
        t_in = t_im_k + p.charge_heating * (self.coolant_k - t_im_k)
        ve = volumetric_efficiency(p_im * 1e-3, p_em_pa * 1e-3, p.compression_ratio, t_im_k / t_in,
                                   p.ve_poly, p.ve_poly_max_kpa)
        if ve < MIN_VOL_EFF:
            ve = MIN_VOL_EFF
        self.vol_eff = ve
        n_rps = speed_rpm / 60.0
        a_cyl = ve * self.vd_m3 * n_rps / (2.0 * R_AIR * t_im_k)       # W_cyl = a_cyl * p_im
        c_th = area / math.sqrt(R_AIR * t_im_k)
        psi, dpsi = throttle_psi(p_im / p_up_pa)
        w_th = c_th * p_up_pa * psi
        k_im = R_AIR * t_im_k / self.v_im_m3
        f = k_im * (w_th - a_cyl * p_im)
        dfdp = k_im * (c_th * dpsi - a_cyl)
        dp = dt * f / (1.0 - dt * dfdp)
        p_new = p_im + dp
        if p_new < MIN_MANIFOLD_PA:
            p_new = MIN_MANIFOLD_PA
        self.p_im_pa = p_new
        self.throttle_flow_kg_s = w_th + c_th * dpsi * dp
        self.air_flow_kg_s = a_cyl * p_new
        p_im_kpa = p_new * 1e-3

        # --- fuel: injector command x injector health, optional x-tau wall film ------------
        cyc_per_s = n_rps * 0.5 * p.n_cyl                               # cylinder events / s
        fuel_mg = inputs.fuel_mg
        mf_inj = (0.0 if inputs.fuel_cut >= 0.5
                  else (fuel_mg if fuel_mg > 0.0 else 0.0) * 1e-6 * inputs.injector_factor)
        if p.wall_film_fraction > 0.0:
            x = p.wall_film_fraction
            w_inj = mf_inj * cyc_per_s
            out = self.film_kg / p.wall_film_tau_s
            self.film_kg += (x * w_inj - out) * dt
            w_f = (1.0 - x) * w_inj + out
            mf = w_f / cyc_per_s if cyc_per_s > MIN_CYCLES_PER_S else 0.0
        else:
            mf = mf_inj
            w_f = mf * cyc_per_s
        self.fuel_flow_kg_s = w_f
        m_air_cyl = ve * p_new * self.vd_m3 / (p.n_cyl * R_AIR * t_im_k)
        lam = m_air_cyl / (p.afr_stoich * mf) if mf > MIN_FUEL_KG else LAMBDA_NO_FUEL
        if lam > LAMBDA_NO_FUEL:
            lam = LAMBDA_NO_FUEL
        self.lam = lam

        # --- rev limiter of the ignition hardware, spark cut ------------------------------
        if speed_rpm > p.rev_limit_rpm:
            self.rev_limiter = 1
        elif speed_rpm < p.rev_limit_rpm - REV_LIMITER_HYSTERESIS_RPM:
            self.rev_limiter = 0
        fires = (mf > 0.0 and inputs.spark_cut < 0.5 and not self.rev_limiter
                 and lam < p.lean_limit_lambda + LEAN_MISFIRE_LAMBDA and speed_rpm > MIN_FIRING_RPM)

        # --- torque: indicated work x spark and mixture efficiency, friction, pumping ------
        mbt = mbt_spark_deg(p, speed_rpm, p_im_kpa)
        self.mbt_deg = mbt
        if fires:
            eta_ign = spark_efficiency(spark_deg - mbt)
            eta_lam = lam if lam < 1.0 else 1.0
            if lam > p.lean_limit_lambda - LEAN_PARTIAL_BURN_LAMBDA:
                # partial burns and misfires towards the lean limit
                q = (lam - p.lean_limit_lambda + LEAN_PARTIAL_BURN_LAMBDA) / LEAN_BURN_SPAN_LAMBDA
                eta_lam *= 0.0 if q >= 1.0 else 1.0 - q * q
            self.combusting = 1
        else:
            eta_ign = 0.0
            eta_lam = 0.0
            self.combusting = 0
        self.eta_ign = eta_ign
        self.burned_fuel_kg_s = w_f * eta_lam
        w_ig = mf * p.q_hv_j_per_kg * self.eta_ig * eta_lam * p.n_cyl          # J per cycle
        self.eta_total = self.eta_ig * eta_ign
        t_ig = eta_ign * w_ig / FOUR_PI
        fmep = friction_mep_pa(speed_rpm, self.bmep_pa, self.stroke_m, p.bore_m,
                               p.friction_xi_aux, p.friction_pi_bl)
        t_fr = self.vd_m3 * fmep / FOUR_PI
        t_pump = self.vd_m3 * (p_em_pa - p_new) / FOUR_PI
        if speed_rpm < PUMPING_FULL_RPM:              # no pumping loop without rotation
            t_pump *= speed_rpm / PUMPING_FULL_RPM
        self.ind_torque_nm = t_ig
        self.friction_torque_nm = t_fr + t_pump
        tq = t_ig - t_fr - t_pump
        self.torque_nm = tq
        self.bmep_pa = FOUR_PI * tq / self.vd_m3

        # --- knock: intensity beyond the knock-limited spark; one sensor sample per event --
        kls = knock_limited_spark_deg(p, speed_rpm, p_im_kpa, t_im_k, self.coolant_k, lam)
        self.kls_deg = kls
        if fires:
            e = (spark_deg - kls) / p.knock_slope_deg
            ki = math.exp(e if e < MAX_KNOCK_EXPONENT else MAX_KNOCK_EXPONENT)
        else:
            ki = 0.0
        self.knock_true = ki
        self.knock_phase += cyc_per_s * dt
        if self.knock_phase >= 1.0:
            self.knock_phase -= int(self.knock_phase)
            nz = self._noise
            i = self._ni
            g1 = nz[i]
            g2 = nz[i + 1]
            self._ni = i + 2 if i + 3 < self._nn else 0
            s = p.knock_cycle_spread
            cycle = ki * math.exp(s * g1 - 0.5 * s * s) if ki > 0.0 else 0.0   # log-normal, mean ki
            if cycle >= 1.0:
                self.knock_events += 1
            bg = (p.knock_background * (KNOCK_BG_BASE + KNOCK_BG_SPEED * speed_rpm / p.redline_rpm)
                  * (1.0 + KNOCK_BG_SPREAD * g2))
            self.knock_signal = inputs.knock_sensitivity * ((bg if bg > 0.0 else 0.0) + cycle)
        elif speed_rpm < MIN_FIRING_RPM:
            self.knock_signal = 0.0

    def thermal(self, dt: float, t_amb_k: float, speed_mps: float, friction_power_w: float,
                cooling_factor: float) -> None:
        """Coolant and oil temperatures: lumped capacities, thermostat, radiator, fan."""
        th = self.th
        q_in = th.coolant_heat_fraction * self.burned_fuel_kg_s * self.p.q_hv_j_per_kg * (0.5 + 0.5 * self.eta_ign)
        fr = friction_power_w if friction_power_w > 0.0 else 0.0
        q_fr_oil = th.friction_heat_to_oil * fr
        q_in += fr - q_fr_oil
        tc = self.coolant_k
        tc_c = tc - T0_K
        open_ = (tc_c - th.thermostat_open_c) / (th.thermostat_full_c - th.thermostat_open_c)
        open_ = th.thermostat_leak if open_ < th.thermostat_leak else (1.0 if open_ > 1.0 else open_)
        ua = th.radiator_ua_w_per_k + th.radiator_ua_per_mps * speed_mps
        if tc_c > th.fan_on_c:
            ua += th.fan_ua_w_per_k
        ua *= open_ * cooling_factor
        q_oc = th.oil_coolant_ua_w_per_k * (self.oil_k - tc)
        q_out = ua * (tc - t_amb_k) + th.block_loss_ua_w_per_k * (tc - t_amb_k)
        self.coolant_k = tc + dt * (q_in + q_oc - q_out) / th.coolant_heat_capacity_j_per_k
        q_oa = th.oil_ambient_ua_w_per_k * (1.0 + 0.05 * speed_mps) * (self.oil_k - t_amb_k)
        self.oil_k += dt * (q_fr_oil - q_oc - q_oa) / th.oil_heat_capacity_j_per_k
