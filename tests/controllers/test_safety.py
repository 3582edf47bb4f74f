"""The 1 ms path and the supervisor: signals in -> outputs out, in the same step."""

from __future__ import annotations

import pytest
from ctlhelp import run

from controllers import EngineMode, Fault, RxStatus
from controllers.codes import DBC_OUTPUT_RANGES
from controllers.fueling import BaseMapFast
from controllers.safety import SafetyFast, Supervisor


def fast_signals(**kw) -> dict:
    s = {"EngineSpeed": 3000.0, "ManifoldPressure": 100.0, "BoostPressure": 110.0,
         "Lambda": 1.0, "KnockIntensity": 0.2, "PlantFast_RxStatus": 0.0, "IntakeAirTemp": 30.0,
         "WastegateBase": 40.0, "EngineMode": 0.0}
    s.update(kw)
    return s


def fast_step(bm, sf, s, now):
    run(bm, s, now)
    return run(sf, s, now)


def in_range(out):
    for k, v in out.items():
        if k in DBC_OUTPUT_RANGES:
            lo, hi = DBC_OUTPUT_RANGES[k]
            assert lo <= v <= hi, (k, v)


def test_base_fuel_is_speed_density(cal):
    bm = BaseMapFast(cal)
    out = bm.step(fast_signals(), 0.0)
    ve = cal.maps["ve"].lookup(3000, 100) / 100
    air_mg = ve * 100e3 * 0.5e-3 / (287.05 * 303.15) * 1e6
    assert out["FuelMassBase"] == pytest.approx(air_mg / 14.7)
    rich = bm.step(fast_signals(LambdaTrim=10.0), 0.0)["FuelMassBase"]
    assert rich == pytest.approx(out["FuelMassBase"] * 1.1)


def test_normal_outputs_in_dbc_range(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    for rpm in (0, 800, 3000, 7000, 16383):
        for p in (0, 50, 100, 250, 511.5):
            out = fast_step(bm, sf, fast_signals(EngineSpeed=rpm, ManifoldPressure=p,
                                                 IntakeAirTemp=-40.0), 0.0)
            in_range(out)


def test_overboost_cuts_in_the_same_step_and_releases_with_hysteresis(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    s = fast_signals()
    assert fast_step(bm, sf, s, 0.000)["FuelCut"] == 0.0
    s["BoostPressure"] = cal["overboost"] + 0.5
    out = fast_step(bm, sf, s, 0.001)
    assert out["FuelCut"] == 1.0 and out["WastegateCmd"] == 100.0 and out["FuelMass"] == 0.0
    assert int(out["FastFaults"]) & Fault.OVERBOOST
    s["BoostPressure"] = cal["overboost"] - 5            # inside the hysteresis band
    assert fast_step(bm, sf, s, 0.002)["FuelCut"] == 1.0
    s["BoostPressure"] = cal["overboost"] - cal["overboost_hyst"] - 1
    assert fast_step(bm, sf, s, 0.003)["FuelCut"] == 0.0


def test_repeated_overboost_latches_limp_fault(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    s = fast_signals()
    t = 0.0
    for _ in range(int(cal["overboost_repeat_count"])):
        s["BoostPressure"] = 300.0
        fast_step(bm, sf, s, t)
        s["BoostPressure"] = 100.0
        out = fast_step(bm, sf, s, t + 0.001)
        t += 0.5
    assert int(out["FastFaults"]) & Fault.OVERBOOST_REPEATED


def test_knock_retards_in_the_same_step_and_recovers_slowly(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    s = fast_signals()
    base = fast_step(bm, sf, s, 0.0)["SparkAdvance"]
    s["KnockIntensity"] = 1.5
    out = fast_step(bm, sf, s, 0.001)
    assert out["KnockRetard"] == cal["knock_retard_step"]
    assert out["SparkAdvance"] == pytest.approx(base - cal["knock_retard_step"])
    for k in range(100):
        out = fast_step(bm, sf, s, 0.002 + k * 0.001)
    assert out["KnockRetard"] == cal["knock_retard_max"]
    assert int(out["FastFaults"]) & Fault.KNOCK_RETARD_MAX
    s["KnockIntensity"] = 0.1
    t = 0.2
    out = fast_step(bm, sf, s, t)
    assert out["KnockRetard"] == cal["knock_retard_max"]        # recovery delay
    last_knock = 0.002 + 99 * 0.001
    out = fast_step(bm, sf, s, last_knock + cal["knock_recover_delay"] + 1.0)
    assert out["KnockRetard"] == pytest.approx(cal["knock_retard_max"]
                                               - cal["knock_recover_rate"] * 1.0)


def test_lean_at_load_cuts_at_once_and_is_blanked_after_cuts(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    s = fast_signals(ManifoldPressure=cal["lean_load"] + 10, Lambda=cal["lean_lambda"] + 0.05)
    out = fast_step(bm, sf, s, 1.0)
    assert out["FuelCut"] == 1.0 and int(out["FastFaults"]) & Fault.LEAN_AT_LOAD
    s["ManifoldPressure"] = cal["lean_load"] - cal["lean_load_hyst"] - 1
    assert fast_step(bm, sf, s, 1.001)["FuelCut"] == 0.0
    # Lambda still reads lean after the cut: no new cut inside the blanking time.
    s["ManifoldPressure"] = cal["lean_load"] + 10
    assert fast_step(bm, sf, s, 1.002)["FuelCut"] == 0.0
    # Part load lean is not a lean-at-load cut.
    sf2 = SafetyFast(cal)
    s2 = fast_signals(ManifoldPressure=80.0, Lambda=1.6)
    assert fast_step(bm, sf2, s2, 1.0)["FuelCut"] == 0.0


def test_rev_limits_normal_limp_and_detune(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    s = fast_signals(EngineSpeed=cal["rev_limit"] + 1)
    assert fast_step(bm, sf, s, 0.0)["FuelCut"] == 1.0
    s["EngineSpeed"] = cal["rev_limit"] - cal["rev_limit_hyst"] / 2
    assert fast_step(bm, sf, s, 0.001)["FuelCut"] == 1.0           # hysteresis
    s["EngineSpeed"] = cal["rev_limit"] - cal["rev_limit_hyst"] - 1
    assert fast_step(bm, sf, s, 0.002)["FuelCut"] == 0.0
    s.update(EngineSpeed=cal["limp_rev_limit"] + 10, EngineMode=float(EngineMode.LIMP))
    out = fast_step(bm, sf, s, 0.003)
    assert out["FuelCut"] == 1.0 and out["WastegateCmd"] == 100.0
    s.update(EngineSpeed=5000.0, EngineMode=0.0, DetuneRevLimit=4800.0)
    assert fast_step(bm, sf, s, 0.004)["FuelCut"] == 1.0


def test_emergency_stop_cuts_fuel_and_spark(cal):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    out = fast_step(bm, sf, fast_signals(EmergencyStop=1.0), 0.0)
    assert out["FuelCut"] == out["SparkCut"] == 1.0 and out["WastegateCmd"] == 100.0


@pytest.mark.parametrize("status", [RxStatus.TIMEOUT, RxStatus.STALE, RxStatus.COUNTER_JUMP,
                                    RxStatus.CRC_ERROR])
def test_bad_plantfast_opens_wastegate_and_sets_fault(cal, status):
    bm, sf = BaseMapFast(cal), SafetyFast(cal)
    out = fast_step(bm, sf, fast_signals(PlantFast_RxStatus=float(status)), 1.0)
    assert out["WastegateCmd"] == 100.0 and int(out["FastFaults"]) & Fault.RX_PLANT_FAST


def test_never_received_is_not_a_fault_during_startup_grace(cal):
    sf = SafetyFast(cal)
    out = sf.step(fast_signals(PlantFast_RxStatus=1.0), 0.0)
    assert out["FastFaults"] == 0.0
    assert int(sf.step(fast_signals(PlantFast_RxStatus=1.0), 1.0)["FastFaults"]) & Fault.RX_PLANT_FAST


def test_fast_fault_reset_only_clears_gone_conditions(cal):
    sf = SafetyFast(cal)
    sf.step(fast_signals(BoostPressure=300.0), 0.0)
    out = sf.step(fast_signals(BoostPressure=300.0, FaultReset=1.0), 0.001)
    assert int(out["FastFaults"]) & Fault.OVERBOOST                # still present
    sf.step(fast_signals(BoostPressure=100.0), 0.002)
    assert sf.step(fast_signals(BoostPressure=100.0, FaultReset=1.0), 0.003)["FastFaults"] == 0.0


def sup_signals(**kw) -> dict:
    s = {"CoolantTemp": 90.0, "OilTemp": 100.0, "ExhaustGasTemp": 700.0, "IntakeAirTemp": 30.0,
         "DetuneLevel": 0.0, "PlantFast_RxStatus": 0.0, "PlantSlow_RxStatus": 0.0,
         "PlantTemps_RxStatus": 0.0, "PlantHealth_RxStatus": 0.0, "BenchCmd_RxStatus": 1.0}
    s.update(kw)
    return s


def test_modes_normal_detuned_limp_shutdown(cal):
    sup = Supervisor(cal)
    assert sup.step(sup_signals(), 1.0)["EngineMode"] == EngineMode.NORMAL
    assert sup.step(sup_signals(DetuneLevel=20.0), 1.0)["EngineMode"] == EngineMode.DETUNED
    out = sup.step(sup_signals(CoolantTemp=cal["coolant_hard"] + 1), 1.0)
    assert out["EngineMode"] == EngineMode.LIMP and int(out["FaultCodes"]) & Fault.OVERTEMP_COOLANT
    out = sup.step(sup_signals(EmergencyStop=1.0), 1.0)
    assert out["EngineMode"] == EngineMode.SHUTDOWN
    assert Supervisor(cal).step(sup_signals(OilTemp=cal["oil_critical"] + 1), 1.0)["EngineMode"] \
        == EngineMode.SHUTDOWN


def test_faults_latch_until_reset_and_condition_gone(cal):
    sup = Supervisor(cal)
    sup.step(sup_signals(ExhaustGasTemp=cal["egt_hard"] + 5), 1.0)
    out = sup.step(sup_signals(ExhaustGasTemp=cal["egt_hard"] - 1), 1.01)   # within hysteresis
    assert out["EngineMode"] == EngineMode.LIMP
    out = sup.step(sup_signals(ExhaustGasTemp=cal["egt_hard"] - 1, FaultReset=1.0), 1.02)
    assert int(out["FaultCodes"]) & Fault.OVERTEMP_EGT                        # not yet gone
    out = sup.step(sup_signals(ExhaustGasTemp=800.0), 1.03)
    assert out["EngineMode"] == EngineMode.LIMP                              # still latched
    out = sup.step(sup_signals(ExhaustGasTemp=800.0, FaultReset=1.0), 1.04)
    assert out["FaultCodes"] == 0.0 and out["EngineMode"] == EngineMode.NORMAL


@pytest.mark.parametrize("msg", ["PlantFast", "PlantSlow", "PlantTemps", "PlantHealth"])
@pytest.mark.parametrize("status", [2, 3, 4, 5])
def test_sensor_message_loss_means_limp(cal, msg, status):
    out = Supervisor(cal).step(sup_signals(**{f"{msg}_RxStatus": float(status)}), 1.0)
    assert out["EngineMode"] == EngineMode.LIMP


def test_bench_silence_is_not_a_fault_but_corruption_is(cal):
    assert Supervisor(cal).step(sup_signals(BenchCmd_RxStatus=2.0), 1.0)["FaultCodes"] == 0.0
    out = Supervisor(cal).step(sup_signals(BenchCmd_RxStatus=5.0), 1.0)
    assert int(out["FaultCodes"]) & Fault.RX_BENCH_CMD and out["EngineMode"] == EngineMode.NORMAL


def test_fast_faults_reach_fault_codes(cal):
    out = Supervisor(cal).step(sup_signals(FastFaults=float(Fault.LEAN_AT_LOAD)), 1.0)
    assert out["EngineMode"] == EngineMode.LIMP and int(out["FaultCodes"]) & Fault.LEAN_AT_LOAD


def test_codes_match_the_runtime():
    e2e = pytest.importorskip("hil.wire.e2e")
    for s in RxStatus:
        assert int(getattr(e2e.RxStatus, s.name)) == int(s)
