"""Counterexamples of ``hil search`` that show a controller weakness not fixed yet.

Each scenario here is a counterexample kept as written by the search (docs/search.md,
"Keeping a counterexample as a regression scenario"). It fails today, and this test says
exactly how; when the controller is fixed the test fails, and the scenario moves to
scenarios/search/ where it must pass.
"""

from __future__ import annotations

from pathlib import Path

from hil.run.runner import load, run_scenario

HERE = Path(__file__).resolve().parent


def test_a_boost_sensor_reading_low_lets_the_true_boost_pass_the_band(tmp_path):
    result = run_scenario(load(HERE / "boost_sensor_reads_low.yaml"), report_dir=tmp_path,
                          formats=(), plots=False)
    latency, never = result.verdicts
    # what the ECU sees it still handles: every frame over 250 kPa is cut within 1 ms
    assert latency.passed, str(latency)
    # but the sensor hides 20 kPa: the true boost passes 300 kPa
    assert not never.passed and never.margin < 0, str(never)
    assert "turbo.boost_pressure_kpa" in never.message


def test_a_dropped_frame_counts_as_a_cause_the_ecu_never_saw(tmp_path):
    """Found by ``hil search`` (overboost_search, worker 2 of -n 2): 8 PlantFast frames
    dropped from 2.99 s, moved to 1.501 s with issue 16's faster runaway. The first frame
    over 250 kPa (1.50823 s) is one of the dropped ones; the ECU cuts 0.36 ms after the
    first frame it receives (1.50923 s), but the
    latency is measured from the dropped one: 1.36 ms, a FAIL the ECU did not cause. The
    weakness is the evaluator's (a cause should be a frame delivered to the receiver), not
    the controller's."""
    result = run_scenario(load(HERE / "plantfast_loss_late_cut.yaml"), report_dir=tmp_path,
                          formats=(), plots=False)
    latency, never = result.verdicts
    assert not latency.passed and abs(latency.observed - 1_360_000) < 10_000, str(latency)
    assert abs(latency.t_ns - 1_508_230_000) < 10_000, str(latency)
    assert never.passed, str(never)
