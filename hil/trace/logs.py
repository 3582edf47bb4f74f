"""Recorded CAN logs as a :class:`~hil.trace.Trace`: BLF, ASC, candump log, MF4 bus logging.

Whatever python-can's ``can.LogReader`` opens (``.blf``, ``.asc``, ``.log``, ``.csv``,
``.mf4`` with ``CAN_DataFrame`` bus logging, ``.trc``) becomes a trace in the bench's
columnar form, decoded through a DBC like a run's own trace: ``hil replay`` compares an
ECU's recorded outputs with it and ``hil check`` judges a scenario's expectations on it.

Times: a log in wall-clock time (Unix timestamps) starts at its first frame, and
:attr:`Trace.start_time_s` is that frame's timestamp; a log in relative time (a SIL run's
export, an ASC file relative to its trigger block) keeps its times (start_time_s 0). The
trace's sender of a frame is its DBC sender (the log does not say who sent it); error and
remote frames are kept out of the signals (error frames are recorded, flagged).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cantools.database.can import Database

from hil.errors import TraceError
from hil.nodes import NODES
from hil.trace.core import Trace
from hil.wire.flags import FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_RX

__all__ = ["LogTrace", "read_log", "LOG_SUFFIXES"]

#: What ``can.LogReader`` reads (python-can 4.6), for messages and help texts.
LOG_SUFFIXES = (".blf", ".asc", ".log", ".csv", ".mf4", ".trc")

Progress = Callable[[str, float], None]
#: Timestamps later than 1971 are wall-clock (Unix) times; earlier ones relative times.
_WALL_CLOCK_S = 86400 * 365


@dataclass
class LogTrace:
    """A log read into a trace, and what is known about where its times come from."""

    trace: Trace
    path: Path
    frames: int
    timestamp_source: str

    @property
    def start_time_s(self) -> float:
        return self.trace.start_time_s


def _count_hint(path: Path) -> int | None:
    """A rough frame count for progress (BLF/MF4 compress: unknown)."""
    size = path.stat().st_size
    if path.suffix.lower() in (".asc", ".log", ".csv", ".trc"):
        return max(size // 60, 1)
    return None


def _timestamp_source(path: Path, first_s: float) -> str:
    kind = {".blf": "BLF", ".asc": "ASC", ".log": "candump log", ".mf4": "MF4 bus logging",
            ".csv": "CSV", ".trc": "PEAK trace"}.get(path.suffix.lower(), path.suffix)
    if first_s > _WALL_CLOCK_S:  # the recorder wrote wall-clock time
        when = datetime.fromtimestamp(first_s, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        clock = f"wall-clock time, first frame {when}"
    else:
        clock = "relative time, no wall-clock date"
    return f"recorder timestamps of {path.name} ({kind}, {clock})"


def read_log(path: str | os.PathLike[str], db: Database, *,
             progress: Progress | None = None) -> LogTrace:
    """Read a CAN log into a closed :class:`Trace` over ``db``.

    Raises :class:`TraceError` (one line, naming the file) when the file is missing, is
    no log python-can can read, or holds no data frame.
    """
    import can

    path = Path(path)
    if not path.exists():
        raise TraceError(f"{path}: no such log file")
    if path.is_dir():
        raise TraceError(f"{path}: a directory, not a CAN log (expected one of "
                         f"{', '.join(LOG_SUFFIXES)})")
    senders = {}
    nodes = list(NODES)
    for msg in db.messages:
        for s in msg.senders[:1]:
            if s not in nodes:
                nodes.append(s)
            senders[(msg.frame_id, msg.is_extended_frame)] = nodes.index(s)
    other = len(nodes)
    nodes.append("OTHER")
    trace = Trace(db, nodes=tuple(nodes), chunk_frames=65536)
    rows: list[tuple[float, int, bytes, int, int]] = []
    hint = _count_hint(path)
    try:
        with can.LogReader(str(path)) as reader:
            for k, m in enumerate(reader):
                if m.is_remote_frame:
                    continue
                flags = ((FLAG_EXTENDED if m.is_extended_id else 0)
                         | (FLAG_FD if m.is_fd else 0) | (FLAG_RX if m.is_rx else 0)
                         | (FLAG_ERROR if m.is_error_frame else 0))
                rows.append((m.timestamp, m.arbitration_id, bytes(m.data), flags,
                             senders.get((m.arbitration_id, m.is_extended_id), other)))
                if progress is not None and k % 50_000 == 0 and k:
                    progress(f"read {k} frames", min(k / hint, 0.99) if hint else -1.0)
    except (ValueError, OSError, EOFError, KeyError, struct.error, can.CanError) as exc:
        raise TraceError(f"{path}: cannot read it as a CAN log ({exc})") from None
    except NotImplementedError as exc:  # python-can: unknown suffix
        raise TraceError(f"{path}: {exc} (readable: {', '.join(LOG_SUFFIXES)})") from None
    if not any(not (r[3] & FLAG_ERROR) for r in rows):
        raise TraceError(f"{path}: the log holds no CAN data frames")
    rows.sort(key=lambda r: r[0])  # a merged or multi-channel log may be out of order
    # A log in relative time (SIL exports, ASC relative to its trigger block) keeps its
    # times; a wall-clock log starts at its first frame.
    start = rows[0][0] if rows[0][0] > _WALL_CLOCK_S else 0.0
    for t, fid, data, flags, sender in rows:
        t_ns = round((t - start) * 1e9)
        trace.add_frame(t_ns, t_ns, fid, data, sender, flags)
    trace.start_time_s = float(start)
    trace.close()
    if progress is not None:
        progress(f"read {len(rows)} frames", 1.0)
    return LogTrace(trace, path, len(rows), _timestamp_source(path, rows[0][0]))
