"""The DRS scenario bites: an aero controller that ignores braking makes it fail."""

from __future__ import annotations

from pathlib import Path

from hil.run.runner import load, run_scenario

REPO = Path(__file__).resolve().parents[3]
DRS = REPO / "scenarios" / "aero" / "drs_straight_and_braking.yaml"


def test_drs_not_closing_on_brake_fails_the_drs_scenario(defective_rig, tmp_path):
    rig = defective_rig({"aero": "defective:DrsIgnoresBrake"})
    result = run_scenario(load(DRS), rig=rig, report_dir=tmp_path, formats=(), plots=False)
    assert not result.passed
    failed = [v for v in result.verdicts if not v.passed]
    text = result.failure_text()
    # the brake-to-close latency is the expectation that names the defect, with its bound
    brake = [v for v in failed if v.expectation.kind == "latency"
             and "BrakePressure > 5" in v.message and "DrsCommand == 0" in v.message]
    assert brake, text
    assert "max 21 ms" in brake[0].message, brake[0].message
    assert "drs_straight_and_braking.yaml:" in str(brake[0]), str(brake[0])


def test_the_healthy_aero_controller_passes_the_drs_scenario(defective_rig, tmp_path):
    rig = defective_rig({})
    result = run_scenario(load(DRS), rig=rig, report_dir=tmp_path, formats=(), plots=False)
    assert result.passed, result.failure_text()
