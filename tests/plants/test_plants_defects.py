"""Issue 16's measured defects: each test failed on the plant before its fix.

The before/after figure of each is in its docstring (and the issue's closing note).
"""

import pytest

from plants import build_plant


def _one_dyno_step(overrides: dict, state: dict) -> object:
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0, **overrides})
    plant.set_driver_mode("dyno", speed_rpm=state.get("engine.speed_rpm", 4000.0))
    plant.set_state(state)
    plant.inputs.update({"driver.throttle_pct": 100.0, "ecu.fuel_mass_mg": 60.0,
                         "ecu.spark_advance_deg": 15.0, "ecu.wastegate_cmd_pct": 0.0})
    plant.step(1e-3, plant.inputs)
    return plant


def test_ve_poly_max_kpa_is_read():
    """engine.ve_poly_max_kpa clamps the VEP4 polynomial's range. Before: declared but never
    read (eta_v at 240 kPa identical with 200 and 260 kPa); after: the clamp follows it."""
    state = {"engine.speed_rpm": 4000.0, "engine.manifold_pressure_kpa": 240.0}
    default = _one_dyno_step({}, state).engine.vol_eff
    wider = _one_dyno_step({"engine.ve_poly_max_kpa": 260.0}, state).engine.vol_eff
    assert wider != pytest.approx(default, rel=1e-6)


def test_turbine_uses_the_exhaust_cp_parameter():
    """Turbine power P_t = W_t c_pe T_em eta_t (1 - Pi^-k) with c_pe = exhaust.cp_exh_j_per_kg_k.
    Before: a hard-coded 1200 J/(kg K) (P_t unchanged with 1100); after: P_t x 1100/1200."""
    state = {"engine.speed_rpm": 4000.0, "engine.manifold_pressure_kpa": 150.0,
             "turbo.speed_rpm": 120000.0, "exhaust.egt_c": 900.0}
    p1200 = _one_dyno_step({}, state).turbo.p_t_w
    p1100 = _one_dyno_step({"exhaust.cp_exh_j_per_kg_k": 1100.0}, state).turbo.p_t_w
    assert p1200 > 1000.0
    assert p1100 / p1200 == pytest.approx(1100.0 / 1200.0, rel=1e-9)
