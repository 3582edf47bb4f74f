"""Longitudinal vehicle and aero: road load, drag and downforce with DRS, load transfer.

The driveline coupling with the engine (clutch, gears) is integrated in the composite
plant, because engine and vehicle share one shaft when the clutch is closed. These are
the force laws; docs/plants/vehicle_aero.md has the equations and the limits.
"""

from __future__ import annotations

from .params import VehicleParams

G = 9.81
N_PER_LBF = 4.4482216152605
MPS_PER_MPH = 0.44704


def coastdown_si(a_lbf: float, b_lbf_per_mph: float, c_lbf_per_mph2: float) -> tuple[float, float, float]:
    """EPA test car list target coefficients (lbf, lbf/mph, lbf/mph^2) -> N, N/(m/s), N/(m/s)^2."""
    return (a_lbf * N_PER_LBF, b_lbf_per_mph * N_PER_LBF / MPS_PER_MPH,
            c_lbf_per_mph2 * N_PER_LBF / (MPS_PER_MPH * MPS_PER_MPH))


def uses_coastdown(p: VehicleParams) -> bool:
    return bool(p.coastdown_a_n or p.coastdown_b_n_per_mps or p.coastdown_c_n_per_mps2)


def road_load_n(p: VehicleParams, v_mps: float, rho: float, downforce_n: float = 0.0,
                drs_pos: float = 0.0, grade: float = 0.0) -> float:
    """Road load [N] at speed v (moving): coast-down A + B v + C v^2 when given, else
    C_rr (m g + F_z,aero) + 0.5 rho CdA v^2; plus m g grade. The plant computes the same."""
    if uses_coastdown(p):
        f = p.coastdown_a_n + p.coastdown_b_n_per_mps * v_mps + p.coastdown_c_n_per_mps2 * v_mps * v_mps * (1.0 - p.drs_drag_factor * drs_pos)
    else:
        f = 0.5 * rho * v_mps * v_mps * p.cda_m2 * (1.0 - p.drs_drag_factor * drs_pos) + p.crr * (p.mass_kg * G + downforce_n)
    return f + p.mass_kg * G * grade


def air_density(p_amb_kpa: float, t_amb_c: float) -> float:
    return p_amb_kpa * 1e3 / (287.05 * (t_amb_c + 273.15))


def aero_forces(p: VehicleParams, v_mps: float, rho: float, drs_pos: float) -> tuple[float, float, float]:
    """(drag, front downforce, rear downforce) [N]; DRS removes a share of CdA and rear ClA."""
    q = 0.5 * rho * v_mps * v_mps
    drag = q * p.cda_m2 * (1.0 - p.drs_drag_factor * drs_pos)
    df_f = q * p.cla_front_m2
    df_r = q * p.cla_rear_m2 * (1.0 - p.drs_rear_downforce_factor * drs_pos)
    return drag, df_f, df_r


def axle_loads(p: VehicleParams, accel_mps2: float, df_f: float, df_r: float) -> tuple[float, float]:
    """Static split + aero + longitudinal load transfer dF = m a h / L (a > 0 loads the rear)."""
    wb = p.l_front_m + p.l_rear_m
    w = p.mass_kg * G
    dfz = p.mass_kg * accel_mps2 * p.cog_height_m / wb
    return w * p.l_rear_m / wb + df_f - dfz, w * p.l_front_m / wb + df_r + dfz


def ideal_front_brake_share(p: VehicleParams, decel_g: float) -> float:
    """(l_r + z h) / L at deceleration z [g]."""
    return (p.l_rear_m + decel_g * p.cog_height_m) / (p.l_front_m + p.l_rear_m)
