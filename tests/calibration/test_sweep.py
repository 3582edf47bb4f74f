"""``hil sweep``: a tiny grid through a real distributed.LocalCluster, and the spec checks."""

from __future__ import annotations

import csv

import psutil
import pyarrow.parquet as pq
import pytest

from hil.calibration.sweep import load_spec, local_cluster, run_sweep
from hil.cli import main

BASE = """\
name: sweep_base
description: A short warm dyno point for the sweep test.
duration: 400 ms
plant: road_car
calibration: road_car
mode: dyno
initial: {dyno.speed_rpm: 3000, driver.throttle_pct: 30, engine.coolant_temp_c: 90}
expect:
  - never: "EngineMode == 'SHUTDOWN'"
  - value: {signal: EngineSpeed, at: end, min: 1000, max: 7000}
"""

SPEC = """\
name: tiny
scenario: base.yaml
mode: grid
axes:
  - {param: initial.dyno.speed_rpm, values: [2000, 4000], also: [initial.engine.speed_rpm]}
  - {param: scalars.overboost, range: [240, 260], steps: 2}
figures:
  - {name: rpm_final, signal: EngineSpeed, stat: final}
  - {name: map_max, signal: ManifoldPressure, stat: max, during: [100 ms, end]}
heatmap: {figure: rpm_final, x: initial.dyno.speed_rpm, y: scalars.overboost}
"""


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "tiny.yaml").write_text(SPEC)
    return tmp_path / "tiny.yaml"


def _listening(proc):
    return {(c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN}


def test_local_cluster_listens_on_loopback_only():
    """Nothing leaves the machine: every socket the cluster opens is on 127.0.0.1."""
    me = psutil.Process()
    before = _listening(me)
    cluster = local_cluster(2, processes=False)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert all(w.address.startswith("tcp://127.0.0.1:") for w in cluster.workers.values())
        opened = _listening(me) - before
        assert len(opened) >= 3 and {ip for ip, _port in opened} == {"127.0.0.1"}, opened
        assert 8787 not in {port for _ip, port in opened}     # no fixed dashboard port
    finally:
        cluster.close()


def test_tiny_sweep_through_a_local_cluster(spec, tmp_path, capsys):
    code = main(["sweep", str(spec), "--in-process", "--workers", "2", "--report",
                 str(tmp_path / "reports"), "-q"])
    assert code == 0, capsys.readouterr().err
    out = tmp_path / "reports" / "sweep" / "tiny"
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [int(r["run"]) for r in rows] == [0, 1, 2, 3]
    assert [(float(r["initial.dyno.speed_rpm"]), float(r["scalars.overboost"]))
            for r in rows] == [(2000, 240), (2000, 260), (4000, 240), (4000, 260)]
    assert all(r["status"] == "pass" and r["verdicts"] == "PP" for r in rows)
    # The dyno holds the speed: the figure is the swept operating point.
    for r in rows:
        assert abs(float(r["rpm_final"]) - float(r["initial.dyno.speed_rpm"])) < 150
    table = pq.read_table(out / "results.parquet").to_pylist()
    assert [t["trace_sha256"] for t in table] == [r["trace_sha256"] for r in rows]
    assert table[0]["rpm_final"] == pytest.approx(float(rows[0]["rpm_final"]))
    page = (out / "sweep.html").read_text()
    assert "data:image/png;base64" in page and "tiny: 4 runs" in page

    # Reproducible on one worker: the same table, to the trace digests.
    again = run_sweep(load_spec(spec), workers=1, processes=False, progress_bar=False)
    assert [r["trace_sha256"] for r in again] == [r["trace_sha256"] for r in rows]
    # The overboost scalar reached the calibration: same point, other scalar, same trace
    # only because nothing overboosts at 30 % throttle; the map figure agrees.
    assert rows[0]["map_max"] == rows[1]["map_max"]


@pytest.mark.parametrize("edit, what", [
    ("steps: 2", "steps: 0"),
    ("scalars.overboost", "scalarz.overboost"),
    ("stat: final", "stat: last"),
    ("x: initial.dyno.speed_rpm", "x: initial.nope"),
])
def test_bad_spec_is_one_line(spec, capsys, edit, what):
    spec.write_text(SPEC.replace(edit, what))
    assert main(["sweep", str(spec), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{spec}:" in err[0], err


def test_unknown_plant_parameter_is_one_line(spec, capsys):
    spec.write_text(SPEC.replace("scalars.overboost", "params.engine.displacemnt_l"))
    assert main(["sweep", str(spec), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{spec}:1:1: sweep point 0" in err[0], err
