"""Turbocharger: compressor and turbine power balance, shaft, wastegate, intercooler.

Shaft: J dw/dt = (P_t - P_c)/w - xi w (Eriksson & Nielsen ch. 8, Linkoping VEP). The compressor is
quasi-static: its pressure ratio follows from the tip speed through a head coefficient
(dh_is = psi U^2/2) and its power from P_c = W c_p T_1 (Pi^((g-1)/g) - 1)/eta_c. The
turbine and the wastegate share the exhaust flow through an ellipse-law (Stodola) nozzle,
which fixes the exhaust manifold pressure algebraically. The boost volume is a first-order
lag. docs/plants/turbo.md has the derivation and the limits, docs/plants/references.md the
sources.
"""

from __future__ import annotations

import math

from ._jit import Field, array, compile_kernels, kernel
from .params import TurboParams

CP_AIR = 1005.0
R_AIR = 287.0
CP_EXH = 1200.0                       # default only: the plant passes exhaust.cp_exh_j_per_kg_k
EXP_C = 0.4 / 1.4                     # (gamma-1)/gamma, air
EXP_T = 0.33 / 1.33                   # (gamma-1)/gamma, exhaust gas
EXP_C_INV = 3.5                       # gamma/(gamma-1), air
RAD_S_TO_RPM = 60.0 / (2.0 * math.pi)
MIN_POWER_OMEGA_RAD_S = 500.0         # P/omega is evaluated at no less than this shaft speed
MIN_PSI_SHARE = 0.2                   # the head coefficient falls to no less than this share
MIN_ETA_C = 0.1                       # floor of the degraded compressor efficiency
MIN_MIXING_FLOW_KG_S = 1e-6           # no mixed turbine-out temperature below this flow


def compressor_temp_rise_k(t1_k: float, pressure_ratio: float, eta_c: float) -> float:
    """Compressor outlet minus inlet temperature: T_1 (Pi^((g-1)/g) - 1) / eta_c."""
    return t1_k * (pressure_ratio ** EXP_C - 1.0) / eta_c


def compressor_power_w(w_kg_s: float, t1_k: float, pressure_ratio: float, eta_c: float) -> float:
    return w_kg_s * CP_AIR * compressor_temp_rise_k(t1_k, pressure_ratio, eta_c)


def turbine_outlet_temp_k(t_em_k: float, pressure_ratio: float, eta_t: float) -> float:
    """T_out = T_em (1 - eta_t (1 - Pi_t^((1-g)/g)))."""
    return t_em_k * (1.0 - eta_t * (1.0 - pressure_ratio ** -EXP_T))


#: The turbo's state, in the order of its state array (the attributes of Turbo).
TURBO_STATE = ("omega", "p_boost_pa", "wg_pos", "t_ic_k", "t_c_out_k", "p_em_pa",
               "t_turb_out_k", "p_c_w", "p_t_w", "pi_c", "_wg_fault")
(T_OMEGA, T_BOOST, T_WG, T_IC, T_C_OUT, T_P_EM, T_TURB_OUT, T_PC, T_PT, T_PI_C,
 T_WG_FAULT) = range(len(TURBO_STATE))
#: Turbo.wg_fault as the state array holds it (0: none).
WG_FAULT_CODES = {None: 0.0, "stuck_open": 1.0, "stuck_closed": 2.0}
_WG_FAULT_NAMES = {v: k for k, v in WG_FAULT_CODES.items()}
TURBO_PARAMS = ("enabled", "inertia_kg_m2", "friction_xi_nms", "compressor_radius_m",
                "compressor_psi", "compressor_psi_flow_drop", "eta_c_max", "eta_c_min",
                "eta_c_peak_flow_kg_s", "eta_c_flow_width_kg_s", "eta_t_max", "turbine_area_m2",
                "wastegate_area_m2", "wastegate_cd", "wastegate_tau_s", "boost_tau_s",
                "intake_loss_kpa_per_kg_s2", "back_pressure_kpa_per_kg_s2",
                "intercooler_effectiveness", "intercooler_tau_s", "overspeed_rpm",
                "blow_off_kpa", "blow_off_throttle_pct")
(TP_ENABLED, TP_J, TP_XI, TP_R_C, TP_PSI, TP_PSI_DROP, TP_ETA_C_MAX, TP_ETA_C_MIN,
 TP_ETA_C_PEAK, TP_ETA_C_WIDTH, TP_ETA_T_MAX, TP_A_T, TP_A_WG, TP_WG_CD, TP_WG_TAU,
 TP_BOOST_TAU, TP_INTAKE_LOSS, TP_BACK_P, TP_IC_EFF, TP_IC_TAU, TP_OVERSPEED, TP_BLOW_OFF,
 TP_BLOW_OFF_THR, TP_CP_EXH) = range(len(TURBO_PARAMS) + 1)


class Turbo:
    """State: shaft speed, boost pressure, wastegate position, intercooler outlet temperature
    (the array ``st``, TURBO_STATE; the attributes of the same names read and write it)."""

    omega = Field(T_OMEGA)
    p_boost_pa = Field(T_BOOST)
    wg_pos = Field(T_WG)
    t_ic_k = Field(T_IC)
    t_c_out_k = Field(T_C_OUT)
    p_em_pa = Field(T_P_EM)
    t_turb_out_k = Field(T_TURB_OUT)
    p_c_w = Field(T_PC)
    p_t_w = Field(T_PT)
    pi_c = Field(T_PI_C)

    def __init__(self, p: TurboParams, cp_exh_j_per_kg_k: float = CP_EXH) -> None:
        compile_kernels()
        self.p = p
        self.cp_exh = cp_exh_j_per_kg_k       # exhaust gas c_p of the turbine power
        self.pa = array([float(getattr(p, n)) for n in TURBO_PARAMS] + [float(cp_exh_j_per_kg_k)])
        self.st = array([0.0] * len(TURBO_STATE))
        self.reset()

    @property
    def wg_fault(self) -> str | None:
        """None | "stuck_open" | "stuck_closed"."""
        return _WG_FAULT_NAMES[float(self.st[T_WG_FAULT])]

    @wg_fault.setter
    def wg_fault(self, value: str | None) -> None:
        self.st[T_WG_FAULT] = WG_FAULT_CODES[value]

    def reset(self, p_amb_pa: float = 101325.0, t_amb_k: float = 298.15) -> None:
        st = self.st
        st[T_OMEGA] = 0.0
        st[T_BOOST] = p_amb_pa
        st[T_WG] = 1.0
        st[T_IC] = st[T_C_OUT] = t_amb_k
        st[T_P_EM] = p_amb_pa
        st[T_TURB_OUT] = t_amb_k
        st[T_PC] = st[T_PT] = 0.0
        st[T_PI_C] = 1.0

    def step(self, dt: float, w_air: float, w_exh: float, t_em_k: float, p_amb_pa: float,
             t_amb_k: float, p_im_pa: float, wg_cmd_pct: float, eff_factor: float = 1.0,
             throttle_pct: float = 0.0) -> None:
        """Advance by `dt` [s]: `w_air` the compressor (throttle) flow, `w_exh` the exhaust
        flow [kg/s], `t_em_k` the exhaust manifold temperature, `p_im_pa` the manifold
        pressure (the recirculation valve's reference), `wg_cmd_pct` 0 closed .. 100 open,
        `eff_factor` the part health of both wheels (1 healthy), `throttle_pct` the throttle
        position (the recirculation valve acts at closed throttle only)."""
        turbo_step(self.st, self.pa, float(dt), float(w_air), float(w_exh), float(t_em_k),
                   float(p_amb_pa), float(t_amb_k), float(p_im_pa), float(wg_cmd_pct),
                   float(eff_factor), float(throttle_pct))

    def intercooler(self, dt: float, t_amb_k: float) -> None:
        """Intercooler outlet temperature: effectiveness, with the cooler's thermal lag."""
        turbo_intercooler(self.st, self.pa, float(dt), float(t_amb_k))


@kernel
def turbo_step(st, pa, dt, w_air, w_exh, t_em_k, p_amb_pa, t_amb_k, p_im_pa, wg_cmd_pct,
               eff_factor, throttle_pct):
    """One step of the turbo over its state `st` and parameters `pa` (Turbo.step)."""
    # --- wastegate actuator (first order) and its faults --------------------------
    if st[T_WG_FAULT] == 0.0:
        cmd = wg_cmd_pct * 0.01
        cmd = 0.0 if cmd < 0.0 else (1.0 if cmd > 1.0 else cmd)
        st[T_WG] += (cmd - st[T_WG]) * dt / (pa[TP_WG_TAU] + dt)
    else:
        st[T_WG] = 1.0 if st[T_WG_FAULT] == 1.0 else 0.0
    w = w_air if w_air > 0.0 else 0.0
    we = w_exh if w_exh > 0.0 else 0.0
    loss = pa[TP_INTAKE_LOSS] * 1e3 * w * w
    if pa[TP_ENABLED] == 0.0:
        st[T_BOOST] = p_amb_pa - loss
        st[T_P_EM] = p_amb_pa + pa[TP_BACK_P] * 1e3 * we * we
        st[T_IC] = t_amb_k
        st[T_C_OUT] = t_amb_k
        st[T_TURB_OUT] = t_em_k
        return
    # --- exhaust side: turbine + wastegate nozzle (ellipse law) --------------------
    p_es = p_amb_pa + pa[TP_BACK_P] * 1e3 * we * we
    a_t = pa[TP_A_T]
    a_eff = a_t + pa[TP_A_WG] * pa[TP_WG_CD] * st[T_WG]
    x = we * math.sqrt(R_AIR * t_em_k) / a_eff
    p_em = math.sqrt(p_es * p_es + x * x)
    st[T_P_EM] = p_em
    w_t = we * a_t / a_eff
    drop = 1.0 - (p_em / p_es) ** -EXP_T
    eta_t = pa[TP_ETA_T_MAX] * eff_factor
    p_t = w_t * pa[TP_CP_EXH] * t_em_k * eta_t * drop
    t_out = t_em_k * (1.0 - eta_t * drop)
    st[T_TURB_OUT] = (w_t * t_out + (we - w_t) * t_em_k) / we if we > MIN_MIXING_FLOW_KG_S else t_em_k
    # --- compressor: head from tip speed, efficiency from flow ----------------------
    u = st[T_OMEGA] * pa[TP_R_C]
    q = w / pa[TP_ETA_C_PEAK]
    psi = pa[TP_PSI] * (1.0 - pa[TP_PSI_DROP] * q * q)
    if psi < MIN_PSI_SHARE * pa[TP_PSI]:
        psi = MIN_PSI_SHARE * pa[TP_PSI]
    pi_target = (1.0 + psi * u * u / (2.0 * CP_AIR * t_amb_k)) ** EXP_C_INV
    p_target = p_amb_pa * pi_target - loss
    if throttle_pct < pa[TP_BLOW_OFF_THR]:
        # recirculation valve, at closed throttle only: it vents the boost volume to the
        # compressor inlet, so it never holds the pressure below what the compressor
        # delivers at pressure ratio 1 (ambient less the intake losses)
        cap = p_im_pa + pa[TP_BLOW_OFF] * 1e3
        floor = p_amb_pa - loss
        if cap < floor:
            cap = floor
        if p_target > cap:
            p_target = cap
    st[T_BOOST] += (p_target - st[T_BOOST]) * dt / (pa[TP_BOOST_TAU] + dt)
    pi_c = (st[T_BOOST] + loss) / p_amb_pa
    if pi_c < 1.0:
        pi_c = 1.0
    st[T_PI_C] = pi_c
    d = (w - pa[TP_ETA_C_PEAK]) / pa[TP_ETA_C_WIDTH]
    eta_c = pa[TP_ETA_C_MAX] - (pa[TP_ETA_C_MAX] - pa[TP_ETA_C_MIN]) * d * d
    if eta_c < pa[TP_ETA_C_MIN]:
        eta_c = pa[TP_ETA_C_MIN]
    eta_c *= eff_factor
    if eta_c < MIN_ETA_C:
        eta_c = MIN_ETA_C
    dtc = t_amb_k * (pi_c ** EXP_C - 1.0) / eta_c
    st[T_C_OUT] = t_amb_k + dtc
    p_c = w * CP_AIR * dtc
    st[T_PC] = p_c
    st[T_PT] = p_t
    # --- shaft -------------------------------------------------------------------------
    om = st[T_OMEGA]
    om_eff = om if om > MIN_POWER_OMEGA_RAD_S else MIN_POWER_OMEGA_RAD_S
    om += dt * ((p_t - p_c) / om_eff - pa[TP_XI] * om) / pa[TP_J]
    st[T_OMEGA] = om if om > 0.0 else 0.0


@kernel
def turbo_intercooler(st, pa, dt, t_amb_k):
    """Intercooler outlet temperature over the turbo's state (Turbo.intercooler)."""
    target = st[T_C_OUT] - pa[TP_IC_EFF] * (st[T_C_OUT] - t_amb_k)
    st[T_IC] += (target - st[T_IC]) * dt / (pa[TP_IC_TAU] + dt)
