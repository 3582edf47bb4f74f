"""Physical-plausibility checks shared by the plant tests (a uniquely named module: every
test folder has a conftest, so `from conftest import` would pick the wrong one)."""

import math

TEMP_KEYS = ("engine.coolant_temp_c", "engine.oil_temp_c", "intake.air_temp_c", "exhaust.egt_c",
             "exhaust.catalyst_temp_c", "exhaust.turbine_out_temp_c", "turbo.compressor_out_temp_c")
PRESSURE_KEYS = ("engine.manifold_pressure_kpa", "turbo.boost_pressure_kpa",
                 "turbo.exhaust_manifold_pressure_kpa", "brake.pressure_bar")


def assert_physical(out):
    """No NaN/inf, no negative absolute pressure, temperatures within physical bounds."""
    for k, v in out.items():
        assert math.isfinite(v), f"{k} = {v}"
    for k in PRESSURE_KEYS:
        assert out[k] >= 0.0, f"{k} = {out[k]}"
    for k in ("engine.manifold_pressure_kpa", "turbo.boost_pressure_kpa"):
        assert out[k] > 0.0
    for k in TEMP_KEYS:
        assert -60.0 < out[k] < 2000.0, f"{k} = {out[k]}"
    assert out["engine.coolant_temp_c"] < 200.0 and out["engine.oil_temp_c"] < 220.0
    assert out["engine.speed_rpm"] >= 0.0 and out["vehicle.speed_kph"] >= 0.0
    assert 0.0 <= out["turbo.wastegate_pos_pct"] <= 100.0
