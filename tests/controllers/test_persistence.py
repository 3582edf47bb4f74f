"""Persistence: atomic versioned snapshots, audit log, drop-oldest queue, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controllers.persistence import (
    AUDIT_NAME,
    BackgroundWriter,
    Job,
    Persister,
    list_snapshots,
    load_latest,
    read_audit,
)

ROOT = Path(__file__).resolve().parents[2]


def test_persister_disabled_by_default_writes_nothing(cal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = Persister(cal)
    cal.adapt.set_cell(cal.adapt.fuel_pct, 1, 1, 2.0, by="t", why="w", at=0.0)
    out = p.step({}, 100.0)
    assert out["PersistVersion"] == 1 and p.writer is None
    assert list(tmp_path.iterdir()) == []


def test_persister_writes_snapshot_and_audit_and_restores(cal, tmp_path):
    p = Persister(cal, persist_dir=str(tmp_path))
    cal.adapt.set_cell(cal.adapt.fuel_pct, 2, 3, 1.5, by="tuner", why="lambda trim", at=5.0)
    p.step({}, 10.0)
    p.writer.flush()
    snap = load_latest(tmp_path, "road_car")
    assert snap["version"] == 1 and snap["fuel_pct"][3][2] == 1.5
    log = read_audit(tmp_path / AUDIT_NAME)
    assert log.torn == 0
    rec = log.records[0]
    assert (rec["map"], rec["cell"], rec["old"], rec["new"], rec["by"]) == \
        ("fuel_pct", [2, 3], 0.0, 1.5, "tuner")
    assert rec["why"] == "lambda trim" and rec["t"] == 5.0
    p.close()
    from controllers import load_calibration
    fresh = load_calibration("road_car")
    p2 = Persister(fresh, persist_dir=str(tmp_path))
    assert fresh.adapt.fuel_pct.z[3][2] == 1.5
    p2.close()


def test_persist_interval_limits_snapshots(cal, tmp_path):
    p = Persister(cal, persist_dir=str(tmp_path))
    for k in range(50):
        cal.adapt.set_cell(cal.adapt.fuel_pct, 0, 0, float(k + 1), by="t", why="w", at=k)
        p.step({}, k * 0.1)                                   # 5 s of 100 ms steps
    p.writer.flush()
    assert len(list_snapshots(tmp_path, "road_car")) == 1     # persist_interval is 10 s
    p.close()


def test_full_queue_drops_oldest_never_blocks_and_keeps_the_audit(tmp_path):
    w = BackgroundWriter(tmp_path, queue_size=2, start=False)
    for v in range(1, 6):
        w.submit(Job("x", v, {"fuel_pct": [], "spark_deg": []},
                     [{"version": v, "map": "fuel_pct"}]))
    assert w.dropped == 3 and len(w._q) == 2
    w.start()
    assert w.flush()
    versions = [v for v, _ in list_snapshots(tmp_path, "x")]
    assert versions == [4, 5]
    assert sorted(r["version"] for r in read_audit(tmp_path / AUDIT_NAME).records) == [1, 2, 3, 4, 5]
    w.close()


def test_torn_audit_line_is_reported_not_raised(tmp_path):
    path = tmp_path / AUDIT_NAME
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    log = read_audit(path)
    assert [list(r) for r in log.records] == [["a"], ["b"]] and log.torn == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_writer_killed_mid_write_leaves_no_partial_file(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _round in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "controllers.persistence", str(tmp_path),
                                 "4000000"], stdout=subprocess.PIPE, env=env, cwd=ROOT)
        # Wait until it has written a few snapshots (progress, not wall-clock timing).
        deadline = time.monotonic() + 30
        while len(list_snapshots(tmp_path, "crash")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        snaps = list_snapshots(tmp_path, "crash")
        assert snaps, "the writer never completed a snapshot"
        for _v, path in snaps:                       # every file under a final name is whole
            body = json.loads(path.read_text())
            assert body["calibration"] == "crash" and len(body["fuel_pct"]) > 0
        log = read_audit(tmp_path / AUDIT_NAME)
        assert log.torn <= 1 and log.records
        assert all(r["by"] == "crash_test" for r in log.records)
        if log.torn:                                  # a torn tail is only ever the last line
            assert not (tmp_path / AUDIT_NAME).read_bytes().endswith(b"\n")
        # The next round's writer repairs the tail before appending: after three kills
        # the log still has at most one torn line, the last one.
