"""``hil run --changed-since``: one VE cell changes, only the scenarios that touch it run,
and a suite-wide run confirms that the skipped ones keep their verdicts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from controllers.basemap import CALIBRATION_DIR, load_calibration, loads_calibration
from hil.calibration.coverage import load_index
from hil.calibration.diff import OldCalibrations, diff
from hil.cli import main

POINTS = {  # name: (rpm, throttle %): four dyno points far apart on the VE map
    "pt_2000_part": (2000, 17),
    "pt_3000_part": (3000, 21),
    "pt_4500_part": (4500, 23),
    "pt_5000_full": (5000, 100),
}

SCENARIO = """\
name: {name}
description: One dyno point, short, for the calibration-diff selection test.
duration: 1200 ms
plant: road_car
calibration: {cal}
mode: dyno
initial: {{dyno.speed_rpm: {rpm}, driver.throttle_pct: {thr}, engine.coolant_temp_c: 90}}
expect:
  - never: "EngineMode == 'SHUTDOWN'"
  - value: {{signal: Lambda, at: end, min: 0.5, max: 1.6}}
  - value: {{signal: ManifoldPressure, at: end, min: 10, max: 400}}
  - always: {{condition: "FuelMass >= 0", during: [200 ms, end]}}
"""


def _hil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hil", *args], capture_output=True, text=True,
                          timeout=600)


def _verdicts(report: Path) -> dict[str, list[tuple[bool, str]]]:
    summary = json.loads((report / "summary.json").read_text())
    return {r["name"]: [(v["passed"], v["message"]) for v in r["verdicts"]] for r in summary}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffsel")
    cal = root / "cal" / "road_car.yaml"
    cal.parent.mkdir()
    shutil.copy(CALIBRATION_DIR / "road_car.yaml", cal)
    old = root / "old_road_car.yaml"
    shutil.copy(cal, old)
    scen = root / "scenarios"
    scen.mkdir()
    for name, (rpm, thr) in POINTS.items():
        (scen / f"{name}.yaml").write_text(SCENARIO.format(name=name, cal=cal, rpm=rpm, thr=thr))
    base = _hil("run", str(scen), "--report", str(root / "reports"), "--trace", "none",
                "--no-plots", "-q")
    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-3000:]
    return root, cal, old, scen


def test_one_ve_cell_selects_only_its_scenarios(suite):
    root, cal, old, scen = suite
    baseline = _verdicts(root / "reports")
    records = load_index(root / "reports")["calibrations"]["road_car"]["scenarios"]
    assert set(records) == set(POINTS)
    touched = {n: np.asarray(r["maps"]["ve"]["touched"], dtype=bool) for n, r in records.items()}
    time_s = np.asarray(records["pt_4500_part"]["maps"]["ve"]["time_s"])
    others = np.logical_or.reduce([t for n, t in touched.items() if n != "pt_4500_part"])
    # The cell pt_4500_part dwells in longest among those no other scenario touches.
    j, i = np.unravel_index(np.argmax(np.where(others, -1.0, time_s)), time_s.shape)
    assert touched["pt_4500_part"][j, i] and not others[j, i] and time_s[j, i] > 0.1
    raw = yaml.safe_load(cal.read_text())
    raw["maps"]["ve"]["values"][j][i] += 6.0
    cal.write_text(yaml.safe_dump(raw, sort_keys=False))

    run = _hil("run", str(scen), "--report", str(root / "reports"), "--trace", "none",
               "--no-plots", "-q", "--changed-since", str(old))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stderr.splitlines()
    assert any("ve: 1 cell(s)" in line for line in lines), run.stderr
    selected = {n for n in POINTS if any(f"select {n}" in line for line in lines)}
    skipped = {n for n in POINTS if any(f"skip   {n}" in line for line in lines)}
    assert selected == {"pt_4500_part"} and skipped == set(POINTS) - selected, run.stderr
    assert f"touch changed ve cell [{i},{j}]" in run.stderr
    assert "touch none of the 1 changed cell(s)" in run.stderr
    assert set(_verdicts(root / "reports")) == selected        # only it ran

    # Suite-wide confirmation: every scenario with the new calibration; the skipped ones
    # give the same verdicts, to the figures in their messages.
    full = _hil("run", str(scen), "--report", str(root / "full"), "--trace", "none",
                "--no-plots", "-q")
    assert full.returncode == 0, full.stdout[-3000:] + full.stderr[-3000:]
    after = _verdicts(root / "full")
    for name in skipped:
        assert after[name] == baseline[name], name
    # The change is real: the selected scenario's fuelling moved.
    assert after["pt_4500_part"] != baseline["pt_4500_part"]


def test_no_record_means_selected_and_scalars_select(suite, tmp_path, capsys):
    root, cal, old, scen = suite
    new_cal = tmp_path / "road_car.yaml"
    raw = yaml.safe_load(old.read_text())
    raw["scalars"]["rev_limit"] = "6700 rpm"
    new_cal.write_text(yaml.safe_dump(raw, sort_keys=False))
    d = diff(load_calibration(old), load_calibration(new_cal))
    assert d.scalars == {"rev_limit"} and not any(d.cells.values()) and not d.axes
    # An empty report directory has no records: everything is selected.
    from hil.calibration.diff import select
    from hil.run.runner import load

    scenarios = [load(p) for p in sorted(scen.glob("*.yaml"))]
    decisions, _ = select(scenarios, str(old), tmp_path / "empty",
                          lambda sc: load_calibration(new_cal), loads_calibration)
    assert all(x.selected and x.reason == "no coverage record yet" for x in decisions)
    decisions, _ = select(scenarios, str(old), root / "reports",
                          lambda sc: load_calibration(new_cal), loads_calibration)
    assert all(x.selected and "rev_limit" in x.reason for x in decisions)


def test_git_revision_is_the_old_side(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    cal = repo / "road_car.yaml"
    shutil.copy(CALIBRATION_DIR / "road_car.yaml", cal)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "road_car.yaml"], check=True)
    subprocess.run(git + ["commit", "-qm", "cal"], check=True)
    raw = yaml.safe_load(cal.read_text())
    raw["maps"]["spark_mbt"]["values"][2][3] -= 1.0
    cal.write_text(yaml.safe_dump(raw, sort_keys=False))
    new = load_calibration(cal)
    for ref in ("HEAD", f"HEAD:{cal}"):
        d = diff(OldCalibrations(ref, loads_calibration).for_(new), new)
        assert d.cells["spark_mbt"] == {(3, 2)} and not d.scalars, ref


def test_bad_old_calibration_is_one_line(suite, tmp_path, capsys):
    root, cal, old, scen = suite
    bad = tmp_path / "bad.yaml"
    bad.write_text(old.read_text().replace("rev_limit:", "rev_limitt:", 1))
    code = main(["run", str(scen), "--report", str(root / "reports"), "--changed-since",
                 str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"{bad}:" in err[0] and "rev_limitt" in err[0], err
    assert main(["run", str(scen), "--report", str(root / "reports"), "--changed-since",
                 str(tmp_path / "nope.yaml")]) == 2
    assert "no such calibration file" in capsys.readouterr().err
