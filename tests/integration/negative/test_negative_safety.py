"""The safety and lambda scenarios bite: defective controllers make them fail, and the
failure names the expectation and its bound."""

from __future__ import annotations

from pathlib import Path

from hil.run.runner import load, run_scenario

REPO = Path(__file__).resolve().parents[3]
OVERBOOST = REPO / "scenarios" / "safety" / "overboost_wastegate_stuck.yaml"
KNOCK = REPO / "scenarios" / "safety" / "knock_retard.yaml"
LAMBDA = REPO / "scenarios" / "lambda" / "lambda_closed_loop.yaml"


def _run(path, rig, tmp_path):
    return run_scenario(load(path), rig=rig, report_dir=tmp_path, formats=(), plots=False)


def _failed(result, kind, *fragments):
    return [v for v in result.verdicts if not v.passed and v.expectation.kind == kind
            and all(f in v.message for f in fragments)]


def test_safety_reaction_one_period_late_fails_the_overboost_latency(defective_rig, tmp_path):
    rig = defective_rig({"safety_fast": "defective:SafetyFastOneStepLate"})
    result = _run(OVERBOOST, rig, tmp_path)
    assert not result.passed
    text = result.failure_text()
    cut = _failed(result, "latency", "BoostPressure > 250", "FuelCut == 1 or SparkCut == 1")
    assert cut, text
    assert "(max 1 ms)" in cut[0].message, cut[0].message
    # one period late: the reaction lands a little over 1 ms after the cause frame
    assert 1_000_000 < cut[0].observed < 2_000_000, cut[0].message
    assert "overboost_wastegate_stuck.yaml:" in str(cut[0]), str(cut[0])


def test_safety_reaction_one_period_late_fails_the_knock_latency(defective_rig, tmp_path):
    rig = defective_rig({"safety_fast": "defective:SafetyFastOneStepLate"})
    result = _run(KNOCK, rig, tmp_path)
    assert not result.passed
    knock = _failed(result, "latency", "KnockIntensity > 1", "SparkAdvance < 25")
    assert knock, result.failure_text()
    assert "(max 1 ms)" in knock[0].message, knock[0].message


def test_lambda_trim_with_the_wrong_sign_fails_the_closed_loop_scenario(defective_rig, tmp_path):
    rig = defective_rig({"lambda": "defective:LambdaTrimWrongSign"})
    result = _run(LAMBDA, rig, tmp_path)
    assert not result.passed
    settle = _failed(result, "settle", "Lambda not settled at 1 ± 0.03 by 4.5 s")
    assert settle, result.failure_text()
    assert "lambda_closed_loop.yaml:" in str(settle[0]), str(settle[0])


def test_the_healthy_controllers_pass_the_same_scenarios(defective_rig, tmp_path):
    rig = defective_rig({})
    for path in (OVERBOOST, KNOCK, LAMBDA):
        result = _run(path, rig, tmp_path)
        assert result.passed, result.failure_text()
