"""Persistence of adapted maps: atomic, versioned snapshots and an append-only audit log.

Never on the step path. A controller hands a :class:`Job` (snapshot + the changes that
led to it) to a :class:`BackgroundWriter`: a bounded queue served by one daemon thread.
``submit`` never blocks: when the queue is full the oldest pending snapshot is dropped
and counted (its audit records move into the next job, so the log stays complete).

On disk, in ``persist_dir``:

- ``<calibration>.v<version>.json``: one snapshot per version, written to a temporary
  file in the same directory, fsynced, ``os.replace``d onto its final name and the
  directory fsynced -- a crash leaves either the old set of files or the new one, never
  a partial file under a final name (stale ``.tmp-*`` files are removed on start);
- ``audit.jsonl``: one JSON object per line (what changed, old -> new, by which
  controller, why, when), appended and fsynced per record *before* the snapshot is
  written. :func:`read_audit` reports a torn last line instead of failing.

``python -m controllers.persistence DIR`` runs a writer that writes big snapshots in a
loop: the crash test kills it with SIGKILL mid-write.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controllers.base import Controller

AUDIT_NAME = "audit.jsonl"
TMP_PREFIX = ".tmp-"
MAX_CARRIED_CHANGES = 100_000


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash never leaves a partial ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
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


def append_audit(path: Path, records: list[Mapping[str, Any]]) -> None:
    """Append one JSON line per record, fsynced per record."""
    with open(path, "ab") as f:
        for rec in records:
            f.write(json.dumps(rec, sort_keys=True).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())


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


@dataclass
class Job:
    name: str
    version: int
    snapshot: dict[str, Any]
    changes: list[dict[str, Any]] = field(default_factory=list)


class BackgroundWriter:
    """Bounded, drop-oldest, never-blocking writer of snapshots and audit records."""

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
        self.audit_lost = 0
        self.errors = 0
        self.last_error: str | None = None
        self._q: deque[Job] = deque()
        self._cv = threading.Condition()
        self._stop = False
        self._busy = False
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ntec-persist", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job; O(1), never blocks on I/O."""
        with self._cv:
            if len(self._q) >= self.queue_size:
                old = self._q.popleft()
                self.dropped += 1
                carried = old.changes + job.changes
                if len(carried) > MAX_CARRIED_CHANGES:
                    self.audit_lost += len(carried) - MAX_CARRIED_CHANGES
                    carried = carried[-MAX_CARRIED_CHANGES:]
                job.changes = carried
            self._q.append(job)
            self._cv.notify()

    def write(self, job: Job) -> None:
        """Audit first (the decision), then the snapshot it produced."""
        if job.changes:
            append_audit(self.directory / AUDIT_NAME, job.changes)
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
                while not self._q and not self._stop:
                    self._cv.wait()
                if not self._q:
                    return
                job = self._q.popleft()
                self._busy = True
            try:
                self.write(job)
            except OSError as exc:          # a full disk must not kill the ECU
                self.errors += 1
                self.last_error = str(exc)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written (tests, shutdown; not the step path)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._q or self._busy:
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
    """100 ms: hands the adapted maps to the background writer when they changed.

    Options: ``persist_dir`` (None = persistence disabled, the default, so tests and CI
    never write into the repository), ``queue_size``, ``keep_versions``, ``restore``
    (load the newest snapshot of this calibration at construction).
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
        if d is not None:
            self.writer = BackgroundWriter(d, queue_size=self.opts["queue_size"],
                                           keep_versions=self.opts["keep_versions"])
            if self.opts["restore"]:
                snap = load_latest(d, self.calibration.name)
                if snap is not None:
                    adapt.restore(snap)
        self._interval = self.calibration.scalars["persist_interval"]
        self._submitted = adapt.version
        self._last_submit = -1e9

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        adapt = self.calibration.adapt
        if adapt.version != self._submitted and now - self._last_submit >= self._interval:
            changes = []
            while adapt.pending:
                c = adapt.pending.popleft()
                changes.append({"calibration": self.calibration.name, "version": adapt.version,
                                "map": c.map, "cell": list(c.cell), "old": c.old,
                                "new": c.new, "by": c.by, "why": c.why, "t": c.at})
            if self.writer is not None:
                self.writer.submit(Job(self.calibration.name, adapt.version,
                                       adapt.snapshot(), changes))
            self._submitted = adapt.version
            self._last_submit = now
        dropped = self.writer.dropped if self.writer is not None else 0
        return {"PersistVersion": float(self._submitted), "PersistDropped": float(dropped)}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _crash_test_main(argv: list[str]) -> int:
    """Write big snapshots and audit records forever (until killed)."""
    directory = Path(argv[0])
    size = int(argv[1]) if len(argv) > 1 else 2_000_000
    w = BackgroundWriter(directory, queue_size=2, keep_versions=3)
    version = 0
    payload = [[float(i % 97) + 0.123456789] * 1000 for i in range(max(1, size // 20_000))]
    while True:
        version += 1
        changes = [{"version": version, "map": "fuel_pct", "cell": [k, 0], "old": 0.0,
                    "new": 0.5, "by": "crash_test", "why": "x" * 200, "t": version}
                   for k in range(20)]
        w.submit(Job("crash", version, {"fuel_pct": payload, "spark_deg": payload}, changes))
        print(version, flush=True)
        time.sleep(0.001)


if __name__ == "__main__":
    sys.exit(_crash_test_main(sys.argv[1:]))
