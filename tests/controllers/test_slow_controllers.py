"""Detuner, boost, lambda and aero controllers: signals in -> outputs out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import EngineMode, Fault, load_calibration
from controllers.aero import AeroController
from controllers.boost import BoostController
from controllers.detuner import Detuner
from controllers.lambda_control import LambdaController

HEALTHY = {"TurboHealth": 100.0, "InjectorHealth": 100.0, "KnockSensorHealth": 100.0,
           "CoolingHealth": 100.0, "CoolantTemp": 90.0, "OilTemp": 100.0,
           "ExhaustGasTemp": 700.0, "PlantHealth_RxStatus": 0.0, "PlantTemps_RxStatus": 0.0}


def test_detuner_healthy_is_zero_and_unreceived_health_is_ignored(cal):
    d = Detuner(cal)
    assert d.step(HEALTHY, 0.0)["DetuneLevel"] == 0.0
    never = {**HEALTHY, "TurboHealth": 0.0, "PlantHealth_RxStatus": 1.0}
    assert Detuner(cal).step(never, 0.0)["DetuneLevel"] == 0.0


def test_detuner_reduces_boost_spark_and_revs(cal):
    out = Detuner(cal).step({**HEALTHY, "TurboHealth": 30.0}, 0.0)
    assert out["DetuneLevel"] == 100.0 and out["DetuneBoostKpa"] == cal["detune_boost_max"]
    assert out["DetuneRevLimit"] < cal["rev_limit"]
    assert int(out["HealthFaults"]) & Fault.HEALTH_TURBO
    out = Detuner(cal).step({**HEALTHY, "KnockSensorHealth": 55.0}, 0.0)
    assert out["DetuneSparkDeg"] == pytest.approx(cal["detune_spark_max"] * 0.5)
    out = Detuner(cal).step({**HEALTHY, "CoolantTemp": cal["coolant_soft"] + 5}, 0.0)
    assert 0 < out["DetuneLevel"] < 100 and out["DetuneBoostKpa"] > 0


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["TurboHealth", "InjectorHealth", "KnockSensorHealth", "CoolingHealth"]),
       st.floats(0, 100), st.floats(0, 100))
def test_detuner_is_monotone_in_severity(source, a, b):
    cal = load_calibration("road_car")
    worse, better = min(a, b), max(a, b)
    o_w = Detuner(cal).step({**HEALTHY, source: worse}, 0.0)
    o_b = Detuner(cal).step({**HEALTHY, source: better}, 0.0)
    assert o_w["DetuneLevel"] >= o_b["DetuneLevel"]
    assert o_w["DetuneBoostKpa"] >= o_b["DetuneBoostKpa"]
    assert o_w["DetuneSparkDeg"] >= o_b["DetuneSparkDeg"]
    assert o_w["DetuneRevLimit"] <= o_b["DetuneRevLimit"]


def test_detuner_recovery_has_hysteresis_and_rate(cal):
    d = Detuner(cal)
    assert d.step({**HEALTHY, "TurboHealth": 55.0}, 0.0)["DetuneLevel"] == 50.0
    # 3 % better: inside the 5 % hysteresis band -> held
    assert d.step({**HEALTHY, "TurboHealth": 56.5}, 1.0)["DetuneLevel"] == 50.0
    # fully healthy: recovers at detune_recover_rate (5 %/s), not at once
    assert d.step({**HEALTHY}, 2.0)["DetuneLevel"] == 45.0
    for k in range(3, 20):
        out = d.step({**HEALTHY}, float(k))
    assert out["DetuneLevel"] == 0.0


def test_boost_pi_opens_without_target_and_closes_when_short(cal):
    b = BoostController(cal)
    out = b.step({"EngineSpeed": 3000.0, "ThrottlePosition": 10.0, "BoostPressure": 100.0}, 0.0)
    assert out["WastegateBase"] == 100.0
    s = {"EngineSpeed": 4000.0, "ThrottlePosition": 100.0, "BoostPressure": 120.0}
    out = b.step(s, 0.01)
    assert out["BoostTarget"] == pytest.approx(210.0) and out["WastegateBase"] == 0.0
    for k in range(200):                   # saturated: the integral must not wind up
        out = b.step(s, 0.02 + k * 0.01)
    s["BoostPressure"] = 215.0
    out = b.step(s, 3.0)
    assert out["WastegateBase"] > 0.0      # reacts at once: no wind-up to unwind
    detuned = BoostController(cal).step({**s, "DetuneBoostKpa": 60.0}, 0.0)
    assert detuned["BoostTarget"] == pytest.approx(150.0)


def lam_signals(**kw):
    s = {"Lambda": 1.0, "LambdaTarget": 1.0, "EngineSpeed": 2500.0, "ManifoldPressure": 60.0,
         "ThrottlePosition": 20.0, "ExhaustGasTemp": 600.0, "CoolantTemp": 90.0,
         "FuelCut": 0.0, "PlantFast_RxStatus": 0.0, "PlantTemps_RxStatus": 0.0,
         "EngineMode": 0.0}
    s.update(kw)
    return s


def test_lambda_pi_adds_fuel_when_lean_and_respects_trim_limit(cal):
    lc = LambdaController(cal)
    out = lc.step(lam_signals(Lambda=1.05), 2.0)
    assert out["LambdaClosedLoop"] == 1.0 and out["LambdaTrim"] == pytest.approx(1.0)
    for k in range(1, 1000):
        out = lc.step(lam_signals(Lambda=1.3), 2.0 + k * 0.01)
    assert out["LambdaTrim"] == cal["lambda_trim_limit"]
    assert lc.integral <= cal["lambda_trim_limit"]
    out = lc.step(lam_signals(Lambda=0.95), 12.0)      # anti-windup: reacts at once
    assert out["LambdaTrim"] < cal["lambda_trim_limit"]


def test_lambda_open_loop_conditions_and_enrichment(cal):
    for kw in ({"ThrottlePosition": 95.0}, {"ManifoldPressure": 200.0},
               {"CoolantTemp": 30.0}, {"PlantFast_RxStatus": 5.0}, {"EngineSpeed": 0.0}):
        assert LambdaController(cal).step(lam_signals(**kw), 2.0)["LambdaClosedLoop"] == 0.0, kw
    out = LambdaController(cal).step(lam_signals(ExhaustGasTemp=cal["egt_enrich_full"] + 10,
                                                 ManifoldPressure=150.0), 2.0)
    assert out["LambdaClosedLoop"] == 0.0
    assert out["FuelEnrichPct"] == pytest.approx(cal.maps["egt_enrichment"].lookup(2500, 150))
    lc = LambdaController(cal)
    lc.step(lam_signals(FuelCut=1.0), 2.0)
    assert lc.step(lam_signals(), 2.5)["LambdaClosedLoop"] == 0.0     # blank after cut


def test_lambda_sensor_fault_falls_back_to_open_loop_and_latches(cal):
    lc = LambdaController(cal)
    lc.step(lam_signals(Lambda=0.55), 2.0)
    out = lc.step(lam_signals(Lambda=0.55), 2.01 + cal["lambda_fault_time"])
    assert out["LambdaSensorFault"] == 1.0 and out["LambdaClosedLoop"] == 0.0
    assert out["LambdaTrim"] == 0.0
    assert lc.step(lam_signals(), 3.0)["LambdaSensorFault"] == 1.0
    assert lc.step(lam_signals(FaultReset=1.0), 3.1)["LambdaSensorFault"] == 0.0


def aero_signals(**kw):
    s = {"DrsRequest": 1.0, "VehicleSpeed": 150.0, "BrakePressure": 0.0,
         "LongitudinalAccel": 0.0, "LateralAccel": 0.1, "PlantSlow_RxStatus": 0.0,
         "EngineMode": 0.0}
    s.update(kw)
    return s


def test_drs_opens_only_when_requested_and_allowed(cal):
    assert AeroController(cal).step(aero_signals(), 0.0)["DrsCommand"] == 1.0
    for kw in ({"DrsRequest": 0.0}, {"VehicleSpeed": 50.0}, {"BrakePressure": 20.0},
               {"LateralAccel": -1.2}, {"PlantSlow_RxStatus": 2.0},
               {"EngineMode": float(EngineMode.LIMP)}):
        assert AeroController(cal).step(aero_signals(**kw), 0.0)["DrsCommand"] == 0.0, kw


def test_drs_closes_at_once_on_braking_and_needs_a_new_request(cal):
    a = AeroController(cal)
    a.step(aero_signals(), 0.0)
    assert a.step(aero_signals(BrakePressure=30.0), 0.01)["DrsCommand"] == 0.0
    assert a.step(aero_signals(), 0.02)["DrsCommand"] == 0.0           # not re-armed
    a.step(aero_signals(DrsRequest=0.0), 0.03)
    assert a.step(aero_signals(), 0.04)["DrsCommand"] == 1.0


def test_drs_speed_hysteresis(cal):
    a = AeroController(cal)
    a.step(aero_signals(), 0.0)
    v = cal["drs_min_speed"] - cal["drs_speed_hyst"] / 2
    assert a.step(aero_signals(VehicleSpeed=v), 0.01)["DrsCommand"] == 1.0
    assert AeroController(cal).step(aero_signals(VehicleSpeed=v), 0.0)["DrsCommand"] == 0.0


def test_brake_stability_flag_from_deceleration_and_axle_load(cal):
    a = AeroController(cal)
    out = a.step(aero_signals(BrakePressure=40.0, LongitudinalAccel=-0.5), 0.0)
    assert out["BrakeStability"] == 0.0
    expect = (cal["cog_to_front"] - 1.2 * cal["cog_height"]) / cal["wheelbase"]
    out = a.step(aero_signals(BrakePressure=40.0, LongitudinalAccel=-1.2), 0.01)
    assert out["RearLoadShare"] == pytest.approx(expect) and out["BrakeStability"] == 1.0
    out = a.step(aero_signals(BrakePressure=0.0, LongitudinalAccel=-1.2), 0.02)
    assert out["BrakeStability"] == 0.0
