"""``hil plan``: region weights, the greedy choice, and a plan whose gain the next
``hil coverage`` shows as predicted (within 10 %)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hil.calibration.coverage import MapCoverage
from hil.calibration.plan import Candidate, choose, load_regions, priority_grid
from hil.cli import main


def _cov():
    shape = (3, 4)
    return MapCoverage("ve", "rpm", "rpm", [1000.0, 2000.0, 3000.0, 4000.0], "load", "kPa",
                       [50.0, 100.0, 150.0], ("EngineSpeed", "ManifoldPressure"),
                       np.zeros(shape), np.zeros(shape, dtype=np.int64),
                       np.zeros(shape, dtype=bool))


def test_regions_weight_cells(tmp_path):
    f = tmp_path / "regions.yaml"
    f.write_text("default: 1\nregions:\n  - {name: hi, rpm: [2000, 3000], load: [100, 150], "
                 "priority: 3}\n  - {name: all rpm, load: [150, 150], priority: 2}\n")
    regions, default = load_regions(f)
    grid = priority_grid(_cov(), regions, default)
    assert grid.tolist() == [[1, 1, 1, 1], [1, 3, 3, 1], [2, 3, 3, 2]]


@pytest.mark.parametrize("text, where, what", [
    ("regions:\n  - {rpm: [3000, 2000], priority: 1}\n", ":2:", "lo <= hi"),
    ("regions:\n  - {rpm: [1, 2], priority: -1}\n", ":2:", "priority"),
    ("regoins: []\n", ":1:1:", "unknown key 'regoins'"),
])
def test_bad_regions_file_is_one_line(tmp_path, capsys, text, where, what):
    f = tmp_path / "regions.yaml"
    f.write_text(text)
    assert main(["plan", "--regions", str(f), "--report", str(tmp_path)]) == 2  # no index
    # The regions file is read after the index: check it on its own too.
    from hil.errors import HilError

    with pytest.raises(HilError) as exc:
        load_regions(f)
    assert f"{f}{where}" in str(exc.value) and what in str(exc.value)


def test_greedy_takes_weighted_new_cells_per_minute():
    visited = np.zeros((3, 4), dtype=bool)
    visited[0, 0] = True
    weights = np.ones((3, 4))
    weights[2, 2] = 5.0
    a = Candidate(1000, 10, frozenset({(0, 0), (1, 0)}))      # 1 new cell
    b = Candidate(3000, 90, frozenset({(2, 2)}))              # 1 new cell, weight 5
    c = Candidate(2000, 30, frozenset({(1, 1), (2, 1)}))      # 2 new cells
    chosen, seen = choose([a, b, c], visited, weights, budget_s=3.0, dwell_s=1.5)
    assert [x[0] for x in chosen] == [b, c]                 # two points fit the budget
    assert seen.sum() == 4


SCENARIO = """\
name: plan_base
description: One part-load dyno point, the coverage a plan starts from.
duration: 1 s
plant: road_car
calibration: road_car
mode: dyno
initial: {dyno.speed_rpm: 2000, driver.throttle_pct: 17, engine.coolant_temp_c: 90}
expect:
  - never: "EngineMode == 'SHUTDOWN'"
"""


def test_plan_gain_is_what_the_next_coverage_shows(tmp_path, capsys):
    from hil.calibration.report import after_run
    from hil.run.runner import load, run_scenario

    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "plan_base.yaml").write_text(SCENARIO)
    report = tmp_path / "reports"
    res = run_scenario(load(tmp_path / "scenarios" / "plan_base.yaml"),
                       report_dir=report / "scenarios", formats=(), plots=False)
    after_run([res.summary()], report)
    assert main(["coverage", str(report), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)["calibrations"]["road_car"]["ve"]["visited"]

    assert main(["plan", "--report", str(report), "--rpm", "4500", "--budget", "3s",
                 "--throttles", "0,30,100", "-j", "1"]) == 0
    out = capsys.readouterr().out
    plan = json.loads((report / "plan" / "plan.json").read_text())
    assert plan["baseline_visited"] == before and len(plan["points"]) == 2
    assert plan["predicted_gain_cells"] > 0 and "predicted: ve" in out
    files = sorted((report / "plan" / "scenarios").glob("plan_ve_*.yaml"))
    assert [str(f) for f in files] == plan["files"]

    # Run the plan as ordinary scenarios, then the coverage again.
    for f in files:
        r = run_scenario(load(f), report_dir=report / "scenarios", formats=(), plots=False)
        assert r.passed, r.failure_text()
        after_run([r.summary()], report)
    assert main(["coverage", str(report), "--json"]) == 0
    now = json.loads(capsys.readouterr().out)["calibrations"]["road_car"]["ve"]["visited"]
    gain = now - before
    assert abs(gain - plan["predicted_gain_cells"]) <= 0.1 * plan["predicted_gain_cells"]
