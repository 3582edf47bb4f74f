"""Calibration scalars in a search space: the search sets them through a calibration file
of its own, finds an overboost threshold low enough to cut healthy full load (the boost
target is about 207 kPa at 5000 rpm), and writes the counterexample as a scenario and its
calibration that ``hil run`` replays bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hil.cli import main
from hil.run.runner import load, run_scenario
from hil.search.engine import load_search_spec, run_search

SPEC = """\
name: overboost_threshold
description: How low may the overboost threshold go before it cuts healthy full load?
scenario:
  name: overboost_threshold_base
  description: Healthy full load on the dyno, turbo spooling up to its boost target.
  duration: 2.5 s
  mode: dyno
  initial: {dyno.speed_rpm: 5000, engine.coolant_temp_c: 90, driver.throttle_pct: 100}
seed: 2
scalars:
  overboost: {range: [250, 150], step: 50}
properties:
  - never: "FuelCut == 1"
"""


def test_unknown_scalar_is_one_line_with_its_position(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("  overboost: {range", "  overbost: {range"))
    assert main(["search", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{spec}:11:3:" in err and "overbost" in err and "did you mean 'overboost'" in err


@pytest.mark.slow
def test_search_finds_the_overboost_threshold_that_cuts_healthy_full_load(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC)
    spec = load_search_spec(spec_path)
    assert spec.scalars["overboost"].values() == [250, 200, 150]
    lines: list[str] = []
    result = run_search(spec, max_examples=6, max_shrinks=6, time_s=3600,
                        report_dir=tmp_path / "rep", progress=lines.append)
    assert result.found, "\n".join(lines)
    (threshold,) = [v for n, v in result.counterexample.scalars if n == "overboost"]
    assert threshold < 250                      # the nominal 250 kPa holds
    assert result.replay_identical
    out = tmp_path / "rep" / "search" / "overboost_threshold"
    scenario = yaml.safe_load((out / "counterexample.yaml").read_text())
    assert scenario["calibration"] == "counterexample.calibration.yaml"
    cal = yaml.safe_load((out / "counterexample.calibration.yaml").read_text())
    assert cal["scalars"]["overboost"] == f"{threshold:g} kPa"
    replay = run_scenario(load(out / "counterexample.yaml"), formats=(), plots=False)
    assert not replay.passed
    assert replay.trace_sha256 == result.search_result.trace_sha256
    assert f"scalars.overboost={threshold:g}" in result.summary()["counterexample"]["description"]
    assert Path(result.counterexample_path) == out / "counterexample.yaml"
