"""Exhaust: gas temperature (EGT), catalyst temperature, wideband lambda sensor.

EGT follows an energy balance (the fuel energy neither turned into indicated work nor
lost to the coolant heats the exhaust flow), with empirical rich/lean factors, then the
thermal lag of the manifold walls. The lambda sensor sees the cylinder-out lambda after a
flow-dependent transport delay and a first-order lag (docs/plants/references.md). docs/plants/exhaust.md.
"""

from __future__ import annotations

import math

from .params import ExhaustParams

T0_K = 273.15


def egt_steady_k(p: ExhaustParams, t_im_k: float, burned_fuel_kg_s: float, q_hv: float,
                 eta_total: float, eta_ign: float, coolant_fraction: float, w_exh_kg_s: float,
                 lam: float) -> float:
    """Steady-state exhaust gas temperature at the exhaust ports [K]."""
    if burned_fuel_kg_s <= 0.0 or w_exh_kg_s <= 1e-6:
        return t_im_k
    share = 1.0 - eta_total - coolant_fraction * (0.5 + 0.5 * eta_ign)
    dt = burned_fuel_kg_s * q_hv * share / (w_exh_kg_s * p.cp_exh_j_per_kg_k)
    if lam < 1.0:
        dt *= 1.0 - p.egt_rich_factor * (1.0 - lam)
    else:
        dt *= 1.0 + p.egt_lean_factor * ((lam if lam < 1.5 else 1.5) - 1.0)
    # Heat lost to the ports and manifold walls: a film coefficient h ~ W^0.5 gives a
    # loss fraction falling with flow, so full load keeps its measured EGT while idle
    # runs cooler (without it a healthy engine at lambda 1 sat above 1040 C at any load).
    dt *= math.exp(-p.egt_wall_loss / math.sqrt(w_exh_kg_s))
    # Light part load runs cooler still (low charge density and temperature, long
    # residence, the walls take a large share of a small heat flow): a loss that fades
    # steeply with flow, L1 / (1 + (W / W1)^6), so 2500 rpm / 60 kPa at lambda 1 runs
    # ~640 C (not ~900 C, where the ECU's EGT enrichment opened the lambda loop) while the
    # flows of boost build-up and full load (and so the turbine's energy) are unchanged.
    x = w_exh_kg_s / p.egt_part_load_flow_kg_s
    x *= x
    dt *= 1.0 - p.egt_part_load_loss / (1.0 + x * x * x)
    if dt > 1400.0:
        dt = 1400.0
    return t_im_k + dt


class Exhaust:
    """State: exhaust manifold gas temperature, catalyst temperature, lambda delay line."""

    def __init__(self, p: ExhaustParams, dt_nominal: float = 1e-3) -> None:
        self.p = p
        self.n_buf = int(p.lambda_delay_max_s / dt_nominal) + 2
        self._alpha_dt: float | None = None
        self._alpha = 0.0
        self.reset()

    def reset(self, t_k: float = 298.15, lam: float = 10.0) -> None:
        self.egt_k = t_k
        self.cat_k = t_k
        self.buf = [lam] * self.n_buf
        self.head = 0
        self.lambda_sensed = lam if lam < 10.0 else 10.0
        self.delay_s = self.p.lambda_delay_max_s

    def lambda_sensor(self, dt: float, lam: float, w_exh_kg_s: float) -> float:
        """Delay line (resolution = step) and first-order lag; called every step."""
        p = self.p
        n = self.n_buf
        h = self.head + 1
        if h == n:
            h = 0
        self.head = h
        self.buf[h] = lam
        gps = w_exh_kg_s * 1e3
        d = p.lambda_delay_min_s + (p.lambda_delay_g / gps if gps > 1e-3 else p.lambda_delay_max_s)
        if d > p.lambda_delay_max_s:
            d = p.lambda_delay_max_s
        self.delay_s = d
        k = int(d / dt + 0.5)
        if k >= n:
            k = n - 1
        seen = self.buf[h - k]
        if dt != self._alpha_dt:
            self._alpha_dt = dt
            self._alpha = 1.0 - math.exp(-dt / p.lambda_tau_s)
        self.lambda_sensed += (seen - self.lambda_sensed) * self._alpha
        return self.lambda_sensed

    def thermal(self, dt: float, egt_ss_k: float, w_exh_kg_s: float, t_turb_out_k: float,
                t_amb_k: float, unburned_fuel_kg_s: float, q_hv: float, lam: float) -> None:
        """EGT wall lag and catalyst energy balance; called at the slow rate."""
        p = self.p
        w = w_exh_kg_s if w_exh_kg_s > 2e-3 else 2e-3
        tau = p.egt_tau_s * math.sqrt(p.egt_tau_ref_flow_kg_s / w)
        tau = 0.2 if tau < 0.2 else (15.0 if tau > 15.0 else tau)
        self.egt_k += (egt_ss_k - self.egt_k) * dt / (tau + dt)
        # Catalyst: convective exchange with the gas, losses, exotherm of unburned fuel
        # (spark cut, misfire) when lit and oxygen is available.
        c = p.cat_heat_capacity_j_per_k
        g = w_exh_kg_s * p.cp_exh_j_per_kg_k
        exo = 0.0
        if self.cat_k > p.cat_light_off_c + T0_K and unburned_fuel_kg_s > 0.0:
            o2 = (lam - 0.98) / 0.04
            o2 = 0.0 if o2 < 0.0 else (1.0 if o2 > 1.0 else o2)
            exo = p.cat_exotherm_fraction * unburned_fuel_kg_s * q_hv * o2
        k = g + p.cat_loss_ua_w_per_k
        # exact update of the linear part: stable for any slow step
        t_eq = (g * t_turb_out_k + p.cat_loss_ua_w_per_k * t_amb_k + exo) / k
        self.cat_k = t_eq + (self.cat_k - t_eq) * math.exp(-k * dt / c)
