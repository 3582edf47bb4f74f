"""Exhaust: gas temperature (EGT), catalyst temperature, wideband lambda sensor.

EGT follows an energy balance (the fuel energy neither turned into indicated work nor
lost to the coolant heats the exhaust flow), with empirical rich/lean factors, then the
thermal lag of the manifold walls. The lambda sensor sees the cylinder-out lambda after a
flow-dependent transport delay and a first-order lag (docs/plants/references.md). docs/plants/exhaust.md.
"""

from __future__ import annotations

import math

from ._jit import Field, IntField, array, compile_kernels, kernel, plain
from .params import ExhaustParams

T0_K = 273.15


EXHAUST_PARAMS = ("cp_exh_j_per_kg_k", "egt_rich_factor", "egt_lean_factor", "egt_wall_loss",
                  "egt_part_load_loss", "egt_part_load_flow_kg_s", "egt_tau_s",
                  "egt_tau_ref_flow_kg_s", "cat_heat_capacity_j_per_k", "cat_loss_ua_w_per_k",
                  "cat_light_off_c", "cat_exotherm_fraction", "lambda_tau_s",
                  "lambda_delay_min_s", "lambda_delay_g", "lambda_delay_max_s")
(XP_CP, XP_RICH, XP_LEAN, XP_WALL, XP_PART_LOSS, XP_PART_FLOW, XP_EGT_TAU, XP_EGT_TAU_FLOW,
 XP_CAT_C, XP_CAT_UA, XP_LIGHT_OFF, XP_EXO, XP_LAM_TAU, XP_DELAY_MIN, XP_DELAY_G,
 XP_DELAY_MAX, XP_NBUF) = range(len(EXHAUST_PARAMS) + 1)
#: The exhaust's state, in the order of its state array (the attributes of Exhaust).
EXHAUST_STATE = ("egt_k", "cat_k", "head", "lambda_sensed", "delay_s", "_alpha_dt", "_alpha")
(X_EGT, X_CAT, X_HEAD, X_LAM, X_DELAY, X_ALPHA_DT, X_ALPHA) = range(len(EXHAUST_STATE))


def egt_steady_k(p: ExhaustParams, t_im_k: float, burned_fuel_kg_s: float, q_hv: float,
                 eta_total: float, eta_ign: float, coolant_fraction: float, w_exh_kg_s: float,
                 lam: float) -> float:
    """Steady-state exhaust gas temperature at the exhaust ports [K]."""
    pa = [float(getattr(p, n)) for n in EXHAUST_PARAMS]
    return float(plain(egt_steady)(pa, float(t_im_k), float(burned_fuel_kg_s), float(q_hv),
                                   float(eta_total), float(eta_ign), float(coolant_fraction),
                                   float(w_exh_kg_s), float(lam)))


@kernel
def egt_steady(pa, t_im_k, burned_fuel_kg_s, q_hv, eta_total, eta_ign, coolant_fraction,
               w_exh_kg_s, lam):
    """egt_steady_k over the exhaust's parameter array."""
    if burned_fuel_kg_s <= 0.0 or w_exh_kg_s <= 1e-6:
        return t_im_k
    share = 1.0 - eta_total - coolant_fraction * (0.5 + 0.5 * eta_ign)
    dt = burned_fuel_kg_s * q_hv * share / (w_exh_kg_s * pa[XP_CP])
    if lam < 1.0:
        dt *= 1.0 - pa[XP_RICH] * (1.0 - lam)
    else:
        dt *= 1.0 + pa[XP_LEAN] * ((lam if lam < 1.5 else 1.5) - 1.0)
    # Heat lost to the ports and manifold walls: a film coefficient h ~ W^0.5 gives a
    # loss fraction falling with flow, so full load keeps its measured EGT while idle
    # runs cooler (without it a healthy engine at lambda 1 sat above 1040 C at any load).
    dt *= math.exp(-pa[XP_WALL] / math.sqrt(w_exh_kg_s))
    # Light part load runs cooler still (low charge density and temperature, long
    # residence, the walls take a large share of a small heat flow): a loss that fades
    # steeply with flow, L1 / (1 + (W / W1)^6), so 2500 rpm / 60 kPa at lambda 1 runs
    # ~640 C (not ~900 C, where the ECU's EGT enrichment opened the lambda loop) while the
    # flows of boost build-up and full load (and so the turbine's energy) are unchanged.
    x = w_exh_kg_s / pa[XP_PART_FLOW]
    x *= x
    dt *= 1.0 - pa[XP_PART_LOSS] / (1.0 + x * x * x)
    if dt > 1400.0:
        dt = 1400.0
    return t_im_k + dt


class Exhaust:
    """State: exhaust manifold gas temperature, catalyst temperature, lambda delay line
    (the arrays ``st``, EXHAUST_STATE, and ``buf``; the attributes read and write them)."""

    egt_k = Field(X_EGT)
    cat_k = Field(X_CAT)
    head = IntField(X_HEAD)
    lambda_sensed = Field(X_LAM)
    delay_s = Field(X_DELAY)

    def __init__(self, p: ExhaustParams, dt_nominal: float = 1e-3) -> None:
        compile_kernels()
        self.p = p
        self.n_buf = int(p.lambda_delay_max_s / dt_nominal) + 2
        self.pa = array([float(getattr(p, n)) for n in EXHAUST_PARAMS] + [float(self.n_buf)])
        self.st = array([0.0] * len(EXHAUST_STATE))
        self.st[X_ALPHA_DT] = math.nan               # no step size seen yet
        self.buf = array([10.0] * self.n_buf)
        self.reset()

    def reset(self, t_k: float = 298.15, lam: float = 10.0) -> None:
        st = self.st
        st[X_EGT] = st[X_CAT] = t_k
        buf = self.buf
        for i in range(self.n_buf):
            buf[i] = lam
        st[X_HEAD] = 0.0
        st[X_LAM] = lam if lam < 10.0 else 10.0
        st[X_DELAY] = self.p.lambda_delay_max_s

    def lambda_sensor(self, dt: float, lam: float, w_exh_kg_s: float) -> float:
        """Delay line (resolution = step) and first-order lag; called every step."""
        return float(exhaust_lambda(self.st, self.pa, self.buf, float(dt), float(lam),
                                    float(w_exh_kg_s)))

    def thermal(self, dt: float, egt_ss_k: float, w_exh_kg_s: float, t_turb_out_k: float,
                t_amb_k: float, unburned_fuel_kg_s: float, q_hv: float, lam: float) -> None:
        """EGT wall lag and catalyst energy balance; called at the slow rate."""
        exhaust_thermal(self.st, self.pa, float(dt), float(egt_ss_k), float(w_exh_kg_s),
                        float(t_turb_out_k), float(t_amb_k), float(unburned_fuel_kg_s),
                        float(q_hv), float(lam))


@kernel
def exhaust_lambda(st, pa, buf, dt, lam, w_exh_kg_s):
    """The lambda sensor's delay line and lag over the exhaust's state (Exhaust.lambda_sensor)."""
    n = int(pa[XP_NBUF])
    h = int(st[X_HEAD]) + 1
    if h == n:
        h = 0
    st[X_HEAD] = float(h)
    buf[h] = lam
    gps = w_exh_kg_s * 1e3
    d = pa[XP_DELAY_MIN] + (pa[XP_DELAY_G] / gps if gps > 1e-3 else pa[XP_DELAY_MAX])
    if d > pa[XP_DELAY_MAX]:
        d = pa[XP_DELAY_MAX]
    st[X_DELAY] = d
    k = int(d / dt + 0.5)
    if k >= n:
        k = n - 1
    j = h - k
    seen = buf[j if j >= 0 else j + n]
    if dt != st[X_ALPHA_DT]:
        st[X_ALPHA_DT] = dt
        st[X_ALPHA] = 1.0 - math.exp(-dt / pa[XP_LAM_TAU])
    st[X_LAM] += (seen - st[X_LAM]) * st[X_ALPHA]
    return st[X_LAM]


@kernel
def exhaust_thermal(st, pa, dt, egt_ss_k, w_exh_kg_s, t_turb_out_k, t_amb_k,
                    unburned_fuel_kg_s, q_hv, lam):
    """EGT wall lag and catalyst energy balance over the exhaust's state (Exhaust.thermal)."""
    w = w_exh_kg_s if w_exh_kg_s > 2e-3 else 2e-3
    tau = pa[XP_EGT_TAU] * math.sqrt(pa[XP_EGT_TAU_FLOW] / w)
    tau = 0.2 if tau < 0.2 else (15.0 if tau > 15.0 else tau)
    st[X_EGT] += (egt_ss_k - st[X_EGT]) * dt / (tau + dt)
    # Catalyst: convective exchange with the gas, losses, exotherm of unburned fuel
    # (spark cut, misfire) when lit and oxygen is available.
    c = pa[XP_CAT_C]
    g = w_exh_kg_s * pa[XP_CP]
    exo = 0.0
    if st[X_CAT] > pa[XP_LIGHT_OFF] + T0_K and unburned_fuel_kg_s > 0.0:
        o2 = (lam - 0.98) / 0.04
        o2 = 0.0 if o2 < 0.0 else (1.0 if o2 > 1.0 else o2)
        exo = pa[XP_EXO] * unburned_fuel_kg_s * q_hv * o2
    k = g + pa[XP_CAT_UA]
    # exact update of the linear part: stable for any slow step
    t_eq = (g * t_turb_out_k + pa[XP_CAT_UA] * t_amb_k + exo) / k
    st[X_CAT] = t_eq + (st[X_CAT] - t_eq) * math.exp(-k * dt / c)
