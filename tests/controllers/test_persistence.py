"""Persistence: atomic versioned snapshots, a complete and ordered audit log, drop-oldest
snapshots under overload, crash safety under repeated SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from controllers import load_calibration, persistence
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
# SIGKILL rounds of the crash test; the gate runs 12, e.g. NTEC_PERSIST_KILL_ROUNDS=200
# for a long run (docs/controllers/README.md).
KILL_ROUNDS = int(os.environ.get("NTEC_PERSIST_KILL_ROUNDS", "12"))


def check_history(directory: Path, name: str = "road_car") -> tuple[int, int]:
    """Assert the audit log's promises on what is on disk; (records, newest snapshot).

    - at most one torn line, the last one;
    - the versions of ``name`` are 1, 2, ... n in file order: never back, never twice;
    - the records chain: each change's ``old`` is the value the previous records left;
    - every snapshot on disk equals the replay of the records up to its version, so every
      change it contains has its record, written before it (a snapshot is only ever
      written after the records it contains were fsynced, so this holds at every kill).
    """
    audit = read_audit(directory / AUDIT_NAME)
    assert audit.torn <= 1
    if audit.torn:
        assert not (directory / AUDIT_NAME).read_bytes().endswith(b"\n")
    records = [r for r in audit.records if r["calibration"] == name]
    versions = [r["version"] for r in records]
    assert versions == list(range(1, len(records) + 1)), versions[:50]
    shape = load_calibration(name).adapt.snapshot()
    state = {m: [[0.0] * len(row) for row in shape[m]] for m in ("fuel_pct", "spark_deg")}
    snaps = dict(list_snapshots(directory, name))
    assert all(v <= len(records) for v in snaps), (sorted(snaps), len(records))
    to_check = {v: json.loads(p.read_text()) for v, p in snaps.items()}   # each one whole
    if 0 in to_check:
        del to_check[0]
    for rec in records:
        i, j = rec["cell"]
        assert state[rec["map"]][j][i] == rec["old"], rec
        state[rec["map"]][j][i] = rec["new"]
        snap = to_check.pop(rec["version"], None)
        if snap is not None:
            assert snap["calibration"] == name
            assert {m: snap[m] for m in state} == state, f"snapshot v{rec['version']}"
    assert not to_check
    return len(records), max(snaps, default=0)


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


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_snapshots_and_audit_are_created_with_the_process_umask(cal, tmp_path, umask):
    """Like every other file (issue 12 item 7): 0644 under umask 022, 0640 under 027; the
    snapshots' temporary files were mkstemp's 0600 and kept that mode when renamed."""
    previous = os.umask(umask)
    try:
        p = Persister(cal, persist_dir=str(tmp_path))
        cal.adapt.set_cell(cal.adapt.fuel_pct, 2, 3, 1.5, by="tuner", why="trim", at=5.0)
        p.step({}, 10.0)
        p.writer.flush()
        p.close()
    finally:
        os.umask(previous)
    [(_, snapshot)] = list_snapshots(tmp_path, "road_car")
    for path in (snapshot, tmp_path / AUDIT_NAME):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_persist_interval_limits_snapshots(cal, tmp_path):
    p = Persister(cal, persist_dir=str(tmp_path))
    for k in range(50):
        cal.adapt.set_cell(cal.adapt.fuel_pct, 0, 0, float(k + 1), by="t", why="w", at=k)
        p.step({}, k * 0.1)                                   # 5 s of 100 ms steps
    p.writer.flush()
    assert len(list_snapshots(tmp_path, "road_car")) == 1     # persist_interval is 10 s
    p.close()


def _spy_snapshot_writes(monkeypatch, directory: Path) -> list[tuple[int, list[int]]]:
    """(snapshot version, audit versions on disk) at the moment each snapshot is written."""
    seen: list[tuple[int, list[int]]] = []
    real = persistence.atomic_write

    def spy(path: Path, data: bytes) -> None:
        logged = [r["version"] for r in read_audit(directory / AUDIT_NAME).records]
        seen.append((json.loads(data)["version"], logged))
        real(path, data)

    monkeypatch.setattr(persistence, "atomic_write", spy)
    return seen


def test_full_queue_drops_snapshots_never_audit_records(tmp_path, monkeypatch, caplog):
    """No kill needed: with the queue full, every change of a snapshot is logged before it.

    Before the fix, a dropped job's records moved to the newest job: snapshot v5 contained
    changes 2 and 4 whose records came only with v6, after it, and the log read
    1, 3, 5, 2, 4, 6."""
    seen = _spy_snapshot_writes(monkeypatch, tmp_path)
    w = BackgroundWriter(tmp_path, queue_size=2, start=False)
    for v in range(1, 7):
        w.submit(Job("x", v, {"fuel_pct": [[v]], "spark_deg": [[0]]},
                     [{"calibration": "x", "version": v, "map": "fuel_pct"}]))
    assert w.dropped == 4 and len(w._q) == 2
    w.start()
    with caplog.at_level("WARNING", logger="controllers.persistence"):
        assert w.flush()
    w.close()
    assert [v for v, _ in list_snapshots(tmp_path, "x")] == [5, 6]
    assert [r["version"] for r in read_audit(tmp_path / AUDIT_NAME).records] == [1, 2, 3, 4, 5, 6]
    assert [v for v, _ in seen] == [5, 6]
    for version, logged in seen:
        assert set(range(1, version + 1)) <= set(logged), (version, logged)
    assert "4 snapshot(s) dropped" in caplog.text


def test_overloaded_persister_keeps_a_complete_history_and_restarts_after_it(tmp_path):
    """The real Persister with a writer that is never fast enough: steps make changes,
    the writer writes one snapshot every 7 steps; then a restart continues the history."""
    cal = load_calibration("road_car")
    p = Persister(cal, persist_dir=str(tmp_path), queue_size=1)
    p.writer.close()
    w = p.writer = BackgroundWriter(tmp_path, queue_size=1, start=False)
    adapt, interval = cal.adapt, cal.scalars["persist_interval"]
    for k in range(1, 60):
        adapt.set_cell(adapt.fuel_pct, k % 12, k % 10, k / 10, by="tuner", why="t", at=k)
        adapt.set_cell(adapt.spark_deg, k % 11, k % 9, -k / 10, by="tuner", why="t", at=k)
        out = p.step({}, k * interval)
        if k % 7 == 0:
            assert w.write_once()
            check_history(tmp_path)
    assert out["PersistDropped"] == w.dropped > 40
    while w.write_once():
        pass
    n, newest = check_history(tmp_path)
    assert n == newest == 118 == adapt.version

    # Restart with the newest snapshot removed (as if it was dropped or the process was
    # killed before writing it): the log is replayed, the version continues, nothing is
    # logged twice and the next change's ``old`` is what the log says the cell holds.
    for _v, path in list_snapshots(tmp_path, "road_car")[-1:]:
        path.unlink()
    fresh = load_calibration("road_car")
    p2 = Persister(fresh, persist_dir=str(tmp_path))
    assert fresh.adapt.version == 118
    assert fresh.adapt.snapshot() == {**adapt.snapshot(), "version": 118}
    fresh.adapt.set_cell(fresh.adapt.fuel_pct, 0, 0, 9.0, by="tuner", why="t", at=0)
    p2.step({}, 1e6)
    p2.close()
    assert check_history(tmp_path) == (119, 119)


def test_restore_replays_a_log_with_several_records_per_version(tmp_path):
    """Logs written before each record carried its own version label a whole batch with
    one version: every record after the snapshot is replayed, none skipped."""
    from controllers.persistence import append_audit, restore_adaptation

    rec = {"calibration": "road_car", "version": 3, "old": 0.0, "by": "t", "why": "w", "t": 0}
    append_audit(tmp_path / AUDIT_NAME, [{**rec, "map": "fuel_pct", "cell": [1, 2], "new": 1.5},
                                         {**rec, "map": "spark_deg", "cell": [0, 0], "new": -1.0}])
    cal = load_calibration("road_car")
    assert restore_adaptation(tmp_path, "road_car", cal.adapt) == 2
    assert cal.adapt.fuel_pct.z[2][1] == 1.5 and cal.adapt.spark_deg.z[0][0] == -1.0
    assert cal.adapt.version == 3


def test_restore_false_still_never_relogs_a_version(tmp_path):
    cal = load_calibration("road_car")
    p = Persister(cal, persist_dir=str(tmp_path))
    cal.adapt.set_cell(cal.adapt.fuel_pct, 1, 1, 2.0, by="t", why="w", at=0.0)
    p.step({}, 100.0)
    p.close()
    fresh = load_calibration("road_car")
    p2 = Persister(fresh, persist_dir=str(tmp_path), restore=False)
    assert fresh.adapt.fuel_pct.z[1][1] == 0.0 and fresh.adapt.version == 1
    fresh.adapt.set_cell(fresh.adapt.fuel_pct, 2, 2, 1.0, by="t", why="w", at=0.0)
    p2.step({}, 100.0)
    p2.close()
    assert [r["version"] for r in read_audit(tmp_path / AUDIT_NAME).records] == [1, 2]


def test_failed_audit_write_keeps_the_records_and_skips_the_snapshot(tmp_path, monkeypatch):
    w = BackgroundWriter(tmp_path, queue_size=2, start=False)
    w.submit(Job("x", 1, {}, [{"calibration": "x", "version": 1}]))

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence.os, "fsync", full_disk)
    with pytest.raises(OSError):
        w.write_once()
    assert read_audit(tmp_path / AUDIT_NAME).records == []      # cut back, not half-written
    assert w.pending == (1, 0) and list_snapshots(tmp_path, "x") == []
    monkeypatch.undo()
    w.submit(Job("x", 2, {}, [{"calibration": "x", "version": 2}]))
    assert w.write_once()
    assert [r["version"] for r in read_audit(tmp_path / AUDIT_NAME).records] == [1, 2]
    assert [v for v, _ in list_snapshots(tmp_path, "x")] == [2]


def test_torn_audit_line_is_reported_not_raised(tmp_path):
    path = tmp_path / AUDIT_NAME
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    log = read_audit(path)
    assert [list(r) for r in log.records] == [["a"], ["b"]] and log.torn == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_overloaded_writer_killed_repeatedly_keeps_a_complete_ordered_history(tmp_path):
    """A real Persister whose writer is overloaded (snapshots dropped in every round) is
    SIGKILLed at a different point of its progress in each round and restarted on the same
    directory. After every kill: whole snapshots only, the audit log complete and ordered
    (check_history), nothing logged twice across restarts, nothing going back. Progress is
    read from the child's output: no wall-clock timing is asserted."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    records = newest = 0
    for rnd in range(KILL_ROUNDS):
        # stderr (the drop warnings) to a file: a full pipe would stall the writer thread.
        err = tmp_path.parent / f"{tmp_path.name}-stderr.txt"
        with open(err, "w") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "controllers.persistence",
                                     str(tmp_path), "3", "1"], stdout=subprocess.PIPE,
                                    stderr=stderr, env=env, cwd=ROOT, text=True)
        guard = threading.Timer(120, proc.kill)     # a hang fails the test, never blocks it
        guard.start()
        try:
            extra = (rnd * 13) % 37                 # kill at a different point each round
            first_version = None
            for line in proc.stdout:
                version, written, dropped = (int(x) for x in line.split())
                if first_version is None:
                    first_version = version
                    # The restart continued after the last logged version.
                    assert version == records + 3, (version, records)
                if written >= 1 and dropped >= 1:
                    if extra == 0:
                        break
                    extra -= 1
            else:
                pytest.fail(f"round {rnd}: the writer exited: {err.read_text()[-2000:]}")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            guard.cancel()
            proc.stdout.close()
        n, snap = check_history(tmp_path)
        assert n >= records and snap >= newest, (rnd, n, records, snap, newest)
        assert snap > 0
        records, newest = n, snap
    assert records > KILL_ROUNDS
