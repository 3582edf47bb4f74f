"""Persistence of adapted maps: atomic, versioned snapshots and an append-only audit log.

Never on the step path. A controller hands the audit records of its changes and, at most
every ``persist_interval``, a snapshot to a :class:`BackgroundWriter`: one daemon thread
behind a lock-protected queue. ``log`` and ``submit`` never block and never do I/O.

The audit log is complete and ordered (the change history of the adapted maps):

- every change has one record carrying the adaptation version it produced; records are
  queued in the order the changes were made and are never dropped;
- before writing a snapshot the writer appends *every* queued record (one batch, one
  fsync), so every change contained in a snapshot is on disk before the snapshot is;
- when snapshots come faster than the disk takes them, the oldest queued *snapshot* is
  dropped (counted in ``dropped``, logged by the writer thread, signalled as
  ``PersistDropped``); the next snapshot written contains its changes anyway;
- on restart, :func:`restore_adaptation` loads the newest snapshot and replays the audit
  records logged after it, so the adaptation continues at the last logged version: a
  version is never logged twice and versions never go back.

On disk, in ``persist_dir``:

- ``<calibration>.v<version>.json``: one snapshot per version, written to a temporary
  file in the same directory, fsynced, ``os.replace``d onto its final name and the
  directory fsynced -- a crash leaves either the old set of files or the new one, never
  a partial file under a final name (stale ``.tmp-*`` files are removed on start);
- ``audit.jsonl``: one JSON object per line (calibration, version, map, cell, old -> new,
  by which controller, why, when). A crash can only tear the last line: :func:`read_audit`
  reports it instead of failing and the next writer cuts it before appending.

``python -m controllers.persistence DIR`` runs a real :class:`Persister` that changes
cells and submits snapshots as fast as it can, so its writer is always overloaded: the
crash test kills it with SIGKILL over and over and checks the history after each kill.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controllers.base import Controller
from controllers.basemap import Adaptation, Change

log = logging.getLogger(__name__)

AUDIT_NAME = "audit.jsonl"
TMP_PREFIX = ".tmp-"


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash never leaves a partial ``path``."""
    fd, tmp = _new_temp(path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def _new_temp(directory: Path) -> tuple[int, str]:
    """A new, uniquely named temporary file in ``directory``, created as any other file
    is: mode 0666 less the process umask (``tempfile.mkstemp`` makes 0600, and a
    snapshot a colleague, a web server or a backup job cannot read is no history)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = str(directory / f"{TMP_PREFIX}{secrets.token_hex(8)}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 64 random bits taken already
            continue


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def append_audit(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Append one JSON line per record: one write, one fsync for the whole batch.

    If the write fails (a full disk), the file is cut back to where it was, so a retry
    never logs a record twice.
    """
    data = b"".join(json.dumps(rec, sort_keys=True).encode() + b"\n" for rec in records)
    if not data:
        return
    with open(path, "ab") as f:
        start = f.seek(0, os.SEEK_END)
        try:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            f.truncate(start)
            raise


@dataclass
class AuditLog:
    records: list[dict[str, Any]]
    torn: int          # lines that are incomplete or unparsable (a crash mid-append)


def read_audit(path: str | Path) -> AuditLog:
    """Every complete record; a torn line (only possible last) is counted, not raised."""
    records: list[dict[str, Any]] = []
    torn = 0
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return AuditLog(records, 0)
    lines = data.split(b"\n")
    tail = lines.pop()            # text after the last newline: empty unless torn
    if tail:
        torn += 1
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            torn += 1
    return AuditLog(records, torn)


def repair_audit(path: Path) -> int:
    """Cut a torn last line (a crash mid-append) so new records start on a fresh line.

    Returns the number of bytes removed. Only called when a writer starts, never while
    one is appending.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return len(data) - keep


def snapshot_path(directory: Path, name: str, version: int) -> Path:
    return directory / f"{name}.v{version:08d}.json"


def list_snapshots(directory: str | Path, name: str) -> list[tuple[int, Path]]:
    out = []
    for p in Path(directory).glob(f"{name}.v*.json"):
        try:
            out.append((int(p.name[len(name) + 2:-5]), p))
        except ValueError:
            continue
    return sorted(out)


def load_latest(directory: str | Path, name: str) -> dict[str, Any] | None:
    """The newest snapshot of calibration ``name`` (every file under a final name is whole)."""
    snaps = list_snapshots(directory, name)
    if not snaps:
        return None
    return json.loads(snaps[-1][1].read_text(encoding="utf-8"))


def remove_stale_temp(directory: Path) -> int:
    n = 0
    for p in directory.glob(f"{TMP_PREFIX}*"):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n


def change_record(calibration: str, c: Change) -> dict[str, Any]:
    """The audit record of one change (one line of ``audit.jsonl``)."""
    return {"calibration": calibration, "version": c.version, "map": c.map,
            "cell": list(c.cell), "old": c.old, "new": c.new, "by": c.by, "why": c.why,
            "t": c.at}


def last_logged_version(records: Iterable[Mapping[str, Any]], name: str) -> int:
    """The highest version of calibration ``name`` in the audit records (0 if none)."""
    return max((int(r["version"]) for r in records if r.get("calibration") == name
                and isinstance(r.get("version"), int)), default=0)


def restore_adaptation(directory: str | Path, name: str, adapt: Adaptation) -> int:
    """Newest snapshot of ``name`` + the audit records logged after it, replayed in order.

    The adaptation ends at the last logged version, so the next change gets a version
    the log has never seen. Returns the number of records replayed. A record that does
    not fit the maps (another calibration's shape) raises ``ValueError`` naming its line.
    """
    directory = Path(directory)
    snap = load_latest(directory, name)
    if snap is not None:
        adapt.restore(snap)
    tables = {"fuel_pct": adapt.fuel_pct, "spark_deg": adapt.spark_deg}
    # Against the snapshot's version, not the running one: a log written before records
    # carried their own version has several records per version, all to be replayed.
    base = adapt.version
    replayed = 0
    for n, rec in enumerate(read_audit(directory / AUDIT_NAME).records, 1):
        if rec.get("calibration") != name or not isinstance(rec.get("version"), int):
            continue
        if rec["version"] <= base:
            continue
        try:
            table = tables[rec["map"]]
            i, j = (int(k) for k in rec["cell"])
            if not (0 <= j < len(table.z) and 0 <= i < len(table.z[j])):
                raise IndexError(i, j)
            table.z[j][i] = float(rec["new"])
        except (KeyError, TypeError, ValueError, IndexError):
            raise ValueError(f"{directory / AUDIT_NAME}:{n}: audit record does not fit "
                             f"calibration {name!r}: {json.dumps(rec)[:200]}") from None
        adapt.version = max(adapt.version, rec["version"])
        replayed += 1
    return replayed


@dataclass
class Job:
    name: str
    version: int
    snapshot: dict[str, Any]
    changes: list[dict[str, Any]] = field(default_factory=list)


class BackgroundWriter:
    """One thread writing queued audit records (all, in order) and snapshots (newest win).

    ``log(records)`` queues audit records; ``submit(job)`` queues the job's records and
    its snapshot. Both are O(len(records)) list appends under a lock: no I/O, no waiting
    on the writer. Audit records are never dropped; when ``queue_size`` snapshots are
    already waiting, the oldest waiting snapshot is dropped and counted in ``dropped``.
    """

    def __init__(self, directory: str | Path, *, queue_size: int = 4, keep_versions: int = 20,
                 start: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(self.directory)
        self.repaired_audit_bytes = repair_audit(self.directory / AUDIT_NAME)
        self.queue_size = max(1, int(queue_size))
        self.keep_versions = keep_versions
        self.dropped = 0
        self.written = 0
        self.audit_written = 0
        self.errors = 0
        self.last_error: str | None = None
        self._logged_dropped = 0
        self._logged_at = 0.0
        self._q: deque[Job] = deque()
        self._audit: list[dict[str, Any]] = []
        self._cv = threading.Condition()
        self._io = threading.Lock()
        self._stop = False
        self._busy = False
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ntec-persist", daemon=True)
        self._thread.start()

    def log(self, records: Iterable[dict[str, Any]]) -> None:
        """Queue audit records (in the order the changes were made); never blocks on I/O."""
        with self._cv:
            self._audit.extend(records)
            self._cv.notify()

    def submit(self, job: Job) -> None:
        """Queue the job's audit records, then its snapshot; O(1) per record, no I/O."""
        with self._cv:
            self._audit.extend(job.changes)
            job.changes = []
            if len(self._q) >= self.queue_size:
                self._q.popleft()          # its changes are in the audit queue and in `job`
                self.dropped += 1
            self._q.append(job)
            self._cv.notify()

    @property
    def pending(self) -> tuple[int, int]:
        """(audit records, snapshots) waiting to be written."""
        with self._cv:
            return len(self._audit), len(self._q)

    def write_once(self) -> bool:
        """Write every queued audit record, then the oldest queued snapshot.

        Returns False when nothing was queued. The writer thread calls this in a loop;
        with ``start=False`` a test can step it. The records are taken together with the
        snapshot, so they include every change the snapshot contains. One caller at a
        time (``_io``): batches reach the file in the order they were taken.
        """
        with self._io:
            return self._write_once()

    def _write_once(self) -> bool:
        with self._cv:
            records, self._audit = self._audit, []
            job = self._q.popleft() if self._q else None
            if not records and job is None:
                return False
            self._busy = True
            dropped = self.dropped
        try:
            if records:
                try:
                    append_audit(self.directory / AUDIT_NAME, records)
                except BaseException:
                    with self._cv:          # nothing of the batch is on disk: retry later
                        self._audit[:0] = records
                    raise
                self.audit_written += len(records)
            if dropped != self._logged_dropped and (
                    self._logged_dropped == 0 or time.monotonic() - self._logged_at >= 10.0):
                self._logged_at = time.monotonic()     # the first drop, then every 10 s at most
                log.warning("persistence queue full: %d snapshot(s) dropped (%d in all); "
                            "their changes are in %s and in the next snapshot",
                            dropped - self._logged_dropped, dropped, AUDIT_NAME)
                self._logged_dropped = dropped
            if job is not None:
                self._write_snapshot(job)
        finally:
            with self._cv:
                self._busy = False
                self._cv.notify_all()
        return True

    def write(self, job: Job) -> None:
        """Write ``job`` now, in this thread: its audit records first, then the snapshot."""
        self.submit(job)
        while self.write_once():
            pass

    def _write_snapshot(self, job: Job) -> None:
        body = {"calibration": job.name, "version": job.version, **job.snapshot}
        atomic_write(snapshot_path(self.directory, job.name, job.version),
                     json.dumps(body).encode())
        self.written += 1
        if self.keep_versions > 0:
            for _v, p in list_snapshots(self.directory, job.name)[:-self.keep_versions]:
                try:
                    p.unlink()
                except OSError:
                    pass

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._q and not self._audit and not self._stop:
                    self._cv.wait()
                if self._stop and not self._q and not self._audit:
                    return
            try:
                self.write_once()
            except OSError as exc:          # a full disk must not kill the ECU
                self.errors += 1
                self.last_error = str(exc)
                log.error("persistence: %s (records kept, retrying)", exc)
                with self._cv:              # back off instead of spinning on the error
                    self._cv.wait(1.0)
                    if self._stop:
                        return

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written (tests, shutdown; not the step path)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._q or self._audit or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)


class Persister(Controller):
    """100 ms: hands the audit records of every change and the adapted maps to the writer.

    Options: ``persist_dir`` (None = persistence disabled, the default, so tests and CI
    never write into the repository), ``queue_size``, ``keep_versions``, ``restore``
    (continue from the newest snapshot and the audit records logged after it). With
    ``restore: false`` the maps start from zero but the version numbers still continue
    after the last logged one, so the log never holds a version twice.
    """

    period = 0.1
    inputs = ()
    outputs = ("PersistVersion", "PersistDropped")
    defaults = {"PersistVersion": 0.0, "PersistDropped": 0.0}
    options = {"persist_dir": None, "queue_size": 4, "keep_versions": 20, "restore": True}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        self.writer: BackgroundWriter | None = None
        d = self.opts["persist_dir"]
        adapt = self.calibration.adapt
        name = self.calibration.name
        if d is not None:
            self.writer = BackgroundWriter(d, queue_size=self.opts["queue_size"],
                                           keep_versions=self.opts["keep_versions"])
            if self.opts["restore"]:
                restore_adaptation(d, name, adapt)
            else:
                snap = load_latest(d, name)
                logged = last_logged_version(read_audit(Path(d) / AUDIT_NAME).records, name)
                adapt.version = max(adapt.version, logged,
                                    int(snap.get("version", 0)) if snap else 0)
            adapt.pending.clear()         # restored state, not changes
        self._interval = self.calibration.scalars["persist_interval"]
        self._submitted = adapt.version
        self._last_submit = -1e9

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        adapt = self.calibration.adapt
        if adapt.pending:
            # Every step: the audit queue takes the records at once, so the adaptation's
            # bounded ``pending`` never overflows while a snapshot waits for its interval.
            name = self.calibration.name
            records = [change_record(name, adapt.pending.popleft())
                       for _ in range(len(adapt.pending))]
            if self.writer is not None:
                self.writer.log(records)
        if adapt.version != self._submitted and now - self._last_submit >= self._interval:
            if self.writer is not None:
                self.writer.submit(Job(self.calibration.name, adapt.version, adapt.snapshot()))
            self._submitted = adapt.version
            self._last_submit = now
        dropped = self.writer.dropped if self.writer is not None else 0
        return {"PersistVersion": float(self._submitted), "PersistDropped": float(dropped)}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _crash_test_main(argv: list[str]) -> int:
    """Change cells and persist as fast as possible, forever (until killed).

    ``DIR [CHANGES_PER_STEP [QUEUE_SIZE]]``. A real Persister on the shipped road_car
    calibration, restoring from DIR; simulated time advances ``persist_interval`` per
    step with no sleep, so snapshots come far faster than the writer can fsync them.
    Prints ``<version> <written> <dropped>`` after every step (the test's progress).
    """
    from controllers.basemap import load_calibration

    directory = Path(argv[0])
    per_step = int(argv[1]) if len(argv) > 1 else 3
    queue_size = int(argv[2]) if len(argv) > 2 else 1
    cal = load_calibration("road_car")
    p = Persister(cal, persist_dir=str(directory), queue_size=queue_size, keep_versions=5)
    assert p.writer is not None
    adapt = cal.adapt
    tables = (adapt.fuel_pct, adapt.spark_deg)
    now = 0.0
    while True:
        for _ in range(per_step):
            v = adapt.version + 1
            table = tables[v % 2]
            j = (v // 2) % len(table.z)
            i = (v * 7) % len(table.z[j])
            # A value no cell ever had: the change always happens (the version moves).
            adapt.set_cell(table, i, j, v / 1000.0, by="crash_test", why=f"step {v}", at=now)
        now += p._interval
        p.step({}, now)
        print(adapt.version, p.writer.written, p.writer.dropped, flush=True)


if __name__ == "__main__":
    sys.exit(_crash_test_main(sys.argv[1:]))
