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


class Turbo:
    """State: shaft speed, boost pressure, wastegate position, intercooler outlet temperature."""

    def __init__(self, p: TurboParams, cp_exh_j_per_kg_k: float = CP_EXH) -> None:
        self.p = p
        self.cp_exh = cp_exh_j_per_kg_k       # exhaust gas c_p of the turbine power
        self.wg_fault: str | None = None  # None | "stuck_open" | "stuck_closed"
        self.reset()

    def reset(self, p_amb_pa: float = 101325.0, t_amb_k: float = 298.15) -> None:
        self.omega = 0.0
        self.p_boost_pa = p_amb_pa
        self.wg_pos = 1.0
        self.t_ic_k = t_amb_k
        self.t_c_out_k = t_amb_k
        self.p_em_pa = p_amb_pa
        self.t_turb_out_k = t_amb_k
        self.p_c_w = 0.0
        self.p_t_w = 0.0
        self.pi_c = 1.0

    def step(self, dt: float, w_air: float, w_exh: float, t_em_k: float, p_amb_pa: float,
             t_amb_k: float, p_im_pa: float, wg_cmd_pct: float, eff_factor: float = 1.0,
             throttle_pct: float = 0.0) -> None:
        """Advance by `dt` [s]: `w_air` the compressor (throttle) flow, `w_exh` the exhaust
        flow [kg/s], `t_em_k` the exhaust manifold temperature, `p_im_pa` the manifold
        pressure (the recirculation valve's reference), `wg_cmd_pct` 0 closed .. 100 open,
        `eff_factor` the part health of both wheels (1 healthy), `throttle_pct` the throttle
        position (the recirculation valve acts at closed throttle only)."""
        p = self.p
        # --- wastegate actuator (first order) and its faults --------------------------
        if self.wg_fault is None:
            cmd = wg_cmd_pct * 0.01
            cmd = 0.0 if cmd < 0.0 else (1.0 if cmd > 1.0 else cmd)
            self.wg_pos += (cmd - self.wg_pos) * dt / (p.wastegate_tau_s + dt)
        else:
            self.wg_pos = 1.0 if self.wg_fault == "stuck_open" else 0.0
        w = w_air if w_air > 0.0 else 0.0
        we = w_exh if w_exh > 0.0 else 0.0
        loss = p.intake_loss_kpa_per_kg_s2 * 1e3 * w * w
        if not p.enabled:
            self.p_boost_pa = p_amb_pa - loss
            self.p_em_pa = p_amb_pa + p.back_pressure_kpa_per_kg_s2 * 1e3 * we * we
            self.t_ic_k = self.t_c_out_k = t_amb_k
            self.t_turb_out_k = t_em_k
            return
        # --- exhaust side: turbine + wastegate nozzle (ellipse law) --------------------
        p_es = p_amb_pa + p.back_pressure_kpa_per_kg_s2 * 1e3 * we * we
        a_t = p.turbine_area_m2
        a_eff = a_t + p.wastegate_area_m2 * p.wastegate_cd * self.wg_pos
        x = we * math.sqrt(R_AIR * t_em_k) / a_eff
        p_em = math.sqrt(p_es * p_es + x * x)
        self.p_em_pa = p_em
        w_t = we * a_t / a_eff
        drop = 1.0 - (p_em / p_es) ** -EXP_T
        eta_t = p.eta_t_max * eff_factor
        p_t = w_t * self.cp_exh * t_em_k * eta_t * drop
        t_out = t_em_k * (1.0 - eta_t * drop)
        self.t_turb_out_k = (w_t * t_out + (we - w_t) * t_em_k) / we if we > MIN_MIXING_FLOW_KG_S else t_em_k
        # --- compressor: head from tip speed, efficiency from flow ----------------------
        u = self.omega * p.compressor_radius_m
        q = w / p.eta_c_peak_flow_kg_s
        psi = p.compressor_psi * (1.0 - p.compressor_psi_flow_drop * q * q)
        if psi < MIN_PSI_SHARE * p.compressor_psi:
            psi = MIN_PSI_SHARE * p.compressor_psi
        pi_target = (1.0 + psi * u * u / (2.0 * CP_AIR * t_amb_k)) ** EXP_C_INV
        p_target = p_amb_pa * pi_target - loss
        if throttle_pct < p.blow_off_throttle_pct:
            # recirculation valve, at closed throttle only: it vents the boost volume to the
            # compressor inlet, so it never holds the pressure below what the compressor
            # delivers at pressure ratio 1 (ambient less the intake losses)
            cap = p_im_pa + p.blow_off_kpa * 1e3
            floor = p_amb_pa - loss
            if cap < floor:
                cap = floor
            if p_target > cap:
                p_target = cap
        self.p_boost_pa += (p_target - self.p_boost_pa) * dt / (p.boost_tau_s + dt)
        pi_c = (self.p_boost_pa + loss) / p_amb_pa
        if pi_c < 1.0:
            pi_c = 1.0
        self.pi_c = pi_c
        d = (w - p.eta_c_peak_flow_kg_s) / p.eta_c_flow_width_kg_s
        eta_c = p.eta_c_max - (p.eta_c_max - p.eta_c_min) * d * d
        if eta_c < p.eta_c_min:
            eta_c = p.eta_c_min
        eta_c *= eff_factor
        if eta_c < MIN_ETA_C:
            eta_c = MIN_ETA_C
        dtc = t_amb_k * (pi_c ** EXP_C - 1.0) / eta_c
        self.t_c_out_k = t_amb_k + dtc
        p_c = w * CP_AIR * dtc
        self.p_c_w = p_c
        self.p_t_w = p_t
        # --- shaft -------------------------------------------------------------------------
        om = self.omega
        om_eff = om if om > MIN_POWER_OMEGA_RAD_S else MIN_POWER_OMEGA_RAD_S
        om += dt * ((p_t - p_c) / om_eff - p.friction_xi_nms * om) / p.inertia_kg_m2
        self.omega = om if om > 0.0 else 0.0

    def intercooler(self, dt: float, t_amb_k: float) -> None:
        """Intercooler outlet temperature: effectiveness, with the cooler's thermal lag."""
        p = self.p
        target = self.t_c_out_k - p.intercooler_effectiveness * (self.t_c_out_k - t_amb_k)
        self.t_ic_k += (target - self.t_ic_k) * dt / (p.intercooler_tau_s + dt)
