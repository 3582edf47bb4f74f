"""The bench's Trace: every frame on the bus and every plant sample, columnar.

Appends are on the simulation hot path (2-3 frames and one sample of ~60 floats per
simulated ms), so they only append to Python buffers: a frame is one tuple appended to a
list (~0.15 µs), a sample is one ``struct.pack`` of the row (~0.3 µs). Every
``chunk_frames`` / ``chunk_samples`` rows the buffer is converted to numpy columns in one
go (``zip`` + ``np.array``, ``np.frombuffer`` over the joined rows) and handed to the
store (:mod:`hil.trace.store`), in memory or spooled to disk. benchmarks/bench_trace.py
measured the alternatives: numpy scalar assignment into preallocated chunks costs ~0.6 µs
per frame and ~0.9 µs per 60-float row, ``array.extend`` ~1.3 µs per row.

Queries flush the buffers (any chunk size is fine for the store), then decode lazily:
one signal's series is its message's frames decoded by :mod:`hil.trace.decode`, cached
until more frames arrive.

Native on-disk format (a directory; also what ``spool_dir`` holds after ``close()``):
``trace.json`` (metadata, written last and atomically: a directory without it is not a
trace), ``trace.dbc``, ``frames.<column>.bin`` raw little-endian columns, ``fd.*.bin``
(payload bytes 8..63 of CAN FD frames), ``samples.t_ns.bin`` and ``samples.values.bin``
(blocks of Q x n float64). A classic frame costs 31 bytes; a sample row 8 + 8 Q bytes.
"""

from __future__ import annotations

import difflib
import json
import os
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cantools
import numpy as np
from cantools.database.can import Database, Message, Signal

from hil.config.yamlio import closest
from hil.errors import ConfigError, HilError, TraceError
from hil.nodes import NODES
from hil.trace.decode import MessageDecoder
from hil.trace.store import Blocks, ColumnSpec, Table
from hil.wire.flags import FLAG_ERROR, FLAG_EXTENDED

__all__ = [
    "Trace", "Series", "FrameView", "UnknownSignalError", "quantity_unit", "EXPORT_FILES",
    "check_formats", "register_exporter",
]


FORMAT_NAME = "ntec-hil-trace"
FORMAT_VERSION = 1
META_FILE = "trace.json"
DBC_FILE = "trace.dbc"
#: A function that writes a trace in one format: ``export(trace, fmt, path) -> Path``.
ExportFn = Callable[["Trace", str, Path], Path]
#: Export formats :meth:`Trace.save` knows, and the file each one writes inside the saved
#: directory. Filled by :mod:`hil.trace.export` (the one definition of the formats) when it
#: registers itself; the :mod:`hil.trace` package imports it, so it is always there.
EXPORT_FILES: dict[str, str] = {}
_exporter: list[ExportFn] = []


def register_exporter(export: ExportFn, files: dict[str, str]) -> None:
    """Called once by :mod:`hil.trace.export`: the recorder saves its exports through
    ``export`` without importing the writers (the dependency runs export -> core only)."""
    _exporter[:] = [export]
    EXPORT_FILES.clear()
    EXPORT_FILES.update(files)


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """The formats, if every one is known; else a one-line error naming the closest."""
    formats = tuple(formats)
    for fmt in formats:
        if fmt not in EXPORT_FILES:
            raise ConfigError(f"unknown trace format {fmt!r}{closest(fmt, EXPORT_FILES)} "
                              f"(known: {', '.join(EXPORT_FILES)})")
    return formats

#: The most bytes of decoded series :meth:`Trace.decoded` keeps (about 3 minutes of the
#: fastest message); a 10-minute run's messages would hold ~100 MB all together.
DECODE_CACHE_BYTES = 64 * 2**20


def _series_bytes(entry: tuple[int, dict[str, Series]]) -> int:
    seen: set[int] = set()
    total = 0
    for s in entry[1].values():
        for a in (s.t_ns, s.values):
            if id(a) not in seen:
                seen.add(id(a))
                total += a.nbytes
    return total

_FRAME_SPEC: ColumnSpec = {
    "t_end_ns": ("<i8", ()), "t_start_ns": ("<i8", ()), "id": ("<u4", ()),
    "dlc": ("u1", ()), "sender": ("u1", ()), "flags": ("u1", ()), "data": ("u1", (8,)),
}
_FD_SPEC: ColumnSpec = {"index": ("<i8", ()), "tail": ("u1", (56,))}
_SAMPLE_SPEC: ColumnSpec = {"t_ns": ("<i8", ())}

# Plant quantity names carry their unit as the last "_suffix".
_UNIT_SUFFIXES = {
    "kpa": "kPa", "c": "degC", "rpm": "rpm", "pct": "%", "kph": "km/h", "n": "N",
    "nm": "Nm", "g": "g", "gps": "g/s", "deg": "deg", "bar": "bar", "mg": "mg", "kw": "kW",
    "m": "m", "s": "s",
}


def quantity_unit(name: str) -> str:
    """Unit of a plant quantity from its name: ``engine.speed_rpm`` -> ``rpm``."""
    last = name.rsplit(".", 1)[-1]
    if "_" not in last:
        return ""
    return _UNIT_SUFFIXES.get(last.rsplit("_", 1)[-1].lower(), "")


class UnknownSignalError(HilError, KeyError):
    """A queried name is neither a DBC signal nor a plant quantity of this trace."""

    def __init__(self, name: str, suggestion: str | None = None,
                 message: str | None = None) -> None:
        text = message or f"unknown signal or quantity {name!r}"
        if suggestion:
            text += f"; did you mean {suggestion!r}?"
        super().__init__(text)
        self.name = name
        self.suggestion = suggestion


@dataclass(frozen=True, eq=False, slots=True)
class Series:
    """One quantity over time: a DBC signal (one sample per frame that carried it, at the
    frame's end time) or a plant quantity (one sample per plant step)."""

    t_ns: np.ndarray      # int64
    values: np.ndarray    # float64
    name: str
    unit: str
    source: str           # "frame" | "plant"

    @property
    def t_s(self) -> np.ndarray:
        return self.t_ns / 1e9

    def __len__(self) -> int:
        return len(self.t_ns)


@dataclass(frozen=True, eq=False, slots=True)
class FrameView:
    """Frames of one message (or identifier), columnar. ``data`` is N x 64, zero-padded."""

    t_end_ns: np.ndarray
    t_start_ns: np.ndarray
    id: np.ndarray
    dlc: np.ndarray
    data: np.ndarray
    sender: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.t_end_ns)


class _ClosedBuffer(list):
    """Stands in for the append buffers after close(): appending is an error, and the
    hot path pays nothing for checking."""

    def append(self, item: object) -> None:
        raise TraceError("the trace is closed; no more frames or samples can be added")


def _resolve_db(db: Database | str | os.PathLike[str]) -> Database:
    if isinstance(db, Database):
        return db
    return _can_database(cantools.database.load_file(str(db), database_format="dbc"))


def _can_database(db: object) -> Database:
    assert isinstance(db, Database)  # database_format="dbc" gives a CAN database
    return db


class Trace:
    """Frames and plant samples of one run; see docs/trace-api.md.

    ``spool_dir``: stream full chunks to files there (bounded memory; after ``close()``
    the directory is a complete native trace, loadable with :meth:`load`).
    ``save_dir``/``formats``: where ``close()`` saves the trace (native + exports), so a
    run that ends in an exception or SIGINT inside ``with Trace(...)`` still writes it.
    """

    def __init__(self, db: Database | str | os.PathLike[str],
                 nodes: Sequence[str] = NODES,
                 quantities: Iterable[str] = (),
                 spool_dir: str | os.PathLike[str] | None = None, *,
                 save_dir: str | os.PathLike[str] | None = None,
                 formats: Iterable[str] = ("blf", "mf4"),
                 chunk_frames: int = 4096, chunk_samples: int = 2048) -> None:
        self.db = _resolve_db(db)
        self.nodes = tuple(nodes)
        self.quantities = tuple(quantities)
        if len(set(self.quantities)) != len(self.quantities):
            raise ConfigError("plant quantities must be unique")
        self._chunk_frames = int(chunk_frames)
        self._chunk_samples = int(chunk_samples)
        self._spool = Path(spool_dir) if spool_dir is not None else None
        self._save_dir = Path(save_dir) if save_dir is not None else None
        self._save_formats = tuple(formats)
        self._events: list[tuple[int, str, str]] = []
        self._fbuf: list[tuple[Any, ...]] = []
        self._sbuf: list[bytes] = []
        # One struct per row: packing validates the count and converts to float64 at C
        # speed; a chunk then becomes numpy with a single frombuffer.
        self._pack = struct.Struct(f"<q{len(self.quantities)}d").pack
        self._sample_dtype = np.dtype([("t", "<i8"), ("v", "<f8", (len(self.quantities),))])
        self._closed = False
        self._saved = False
        #: Wall-clock time (Unix seconds) of t=0: set by wall-clock benches, 0.0 in
        #: simulated time. Exports stamp frames with it (BLF/ASC headers, MF4 start).
        self.start_time_s = 0.0
        self._decoded: dict[str, tuple[int, dict[str, Series]]] = {}
        self._decoders: dict[str, MessageDecoder] = {}
        if self._spool is not None:
            self._spool.mkdir(parents=True, exist_ok=True)
            stale = self._spool / META_FILE
            if stale.exists():
                stale.unlink()  # the directory is being rewritten: not a trace until close()
        self._frames = Table(_FRAME_SPEC, directory=self._spool, prefix="frames.")
        self._fd = Table(_FD_SPEC, directory=self._spool, prefix="fd.")
        self._stimes = Table(_SAMPLE_SPEC, directory=self._spool, prefix="samples.")
        self._svalues = Blocks(len(self.quantities), directory=self._spool,
                               file_name="samples.values.bin")
        self._index_names()

    # -- names -----------------------------------------------------------------------

    def _index_names(self) -> None:
        self._quantity_index = {name: i for i, name in enumerate(self.quantities)}
        self._qualified: dict[str, tuple[Message, Signal]] = {}
        self._plain: dict[str, list[tuple[Message, Signal]]] = {}
        for msg in self.db.messages:
            for sig in msg.signals:
                self._qualified[f"{msg.name}.{sig.name}"] = (msg, sig)
                self._plain.setdefault(sig.name, []).append((msg, sig))

    def _resolve(self, name: str) -> tuple[Message, Signal] | int:
        """Plant quantity index, or (message, signal). Quantities win: their names have
        dots too (``engine.speed_rpm``), and the plant is what the rig defines."""
        q = self._quantity_index.get(name)
        if q is not None:
            return q
        found = self._qualified.get(name)
        if found is not None:
            return found
        plain = self._plain.get(name)
        if plain is not None:
            if len(plain) > 1:
                options = sorted(f"{m.name}.{s.name}" for m, s in plain)
                raise UnknownSignalError(
                    name, options[0],
                    f"signal {name!r} is in several messages ({', '.join(options)})")
            return plain[0]
        close = difflib.get_close_matches(name, self._all_names(), n=1, cutoff=0.5)
        raise UnknownSignalError(name, close[0] if close else None)

    def _all_names(self) -> list[str]:
        return [*self._plain, *self._qualified, *self.quantities]

    def names(self) -> tuple[str, ...]:
        """Every queryable name: DBC signals (plain, or ``Msg.Sig`` where the plain name
        is ambiguous), then plant quantities. ``Msg.Sig`` always works in queries too."""
        sigs = [name if len(v) == 1 else f"{m.name}.{s.name}"
                for name, v in self._plain.items() for m, s in v]
        return (*dict.fromkeys(sigs), *self.quantities)

    def has(self, name: str) -> bool:
        try:
            self._resolve(name)
        except UnknownSignalError:
            return False
        return True

    def choices(self, name: str) -> dict[str, int]:
        """Value table of a DBC signal, name -> number (empty when it has none)."""
        found = self._resolve(name)
        if isinstance(found, int):
            return {}
        _, sig = found
        return {str(text): int(number) for number, text in (sig.choices or {}).items()}

    def signal_limits(self, name: str) -> tuple[float | None, float | None, float] | None:
        """(minimum, maximum, resolution) of a DBC signal as the DBC declares them (None
        where a bound is not declared; the resolution is the signal's scale); None for a
        plant quantity."""
        found = self._resolve(name)
        if isinstance(found, int):
            return None
        sig = found[1]
        return (None if sig.minimum is None else float(sig.minimum),
                None if sig.maximum is None else float(sig.maximum), abs(float(sig.scale)))

    def unit(self, name: str) -> str:
        found = self._resolve(name)
        if isinstance(found, int):
            return quantity_unit(name)
        return found[1].unit or ""

    # -- appends (hot path) ------------------------------------------------------------

    def add_frame(self, t_end_ns: int, t_start_ns: int, arbitration_id: int,
                  data: bytes | bytearray | memoryview, sender: int, flags: int = 0) -> None:
        """Record one frame (end time: when receivers see it). ``sender``: node index."""
        buf = self._fbuf
        # bytes(): the caller's bytearray (can.Message.data) may be reused after us.
        buf.append((t_end_ns, t_start_ns, arbitration_id, sender, flags, bytes(data)))
        if len(buf) >= self._chunk_frames:
            self._flush_frames()

    def add_sample(self, t_ns: int, values: Iterable[float]) -> None:
        """Record one plant step: one float per quantity, in ``quantities`` order (a
        list, tuple or the plant's ``outputs.values()``)."""
        buf = self._sbuf
        try:
            buf.append(self._pack(t_ns, *values))
        except struct.error as exc:
            if self._closed:
                raise TraceError("the trace is closed; no more samples can be added") from None
            raise TraceError(f"sample at {t_ns} ns: expected {len(self.quantities)} numbers "
                             f"({exc})") from None
        if len(buf) >= self._chunk_samples:
            self._flush_samples()

    def add_event(self, t_ns: int, kind: str, text: str) -> None:
        """Scenario steps, faults injected/cleared, verdict marks."""
        if self._closed:
            raise TraceError("the trace is closed; no more events can be added")
        self._events.append((int(t_ns), str(kind), str(text)))

    # -- buffers -> columns ------------------------------------------------------------

    def _flush_frames(self) -> None:
        buf = self._fbuf
        if not buf:
            return
        n = len(buf)
        t_end, t_start, ids, senders, flags, datas = zip(*buf, strict=True)
        lengths = np.fromiter(map(len, datas), dtype=np.int64, count=n)
        flat = np.frombuffer(b"".join(datas), dtype=np.uint8)
        fd_rows = None
        if flat.size == 8 * n and (lengths == 8).all():
            data8 = flat.reshape(n, 8)
        else:
            width = max(8, int(lengths.max()))
            full = np.zeros((n, width), dtype=np.uint8)
            rows = np.repeat(np.arange(n), lengths)
            starts = np.cumsum(lengths) - lengths
            cols = np.arange(flat.size) - np.repeat(starts, lengths)
            full[rows, cols] = flat
            data8 = full[:, :8]
            fd_rows = np.flatnonzero(lengths > 8)
            if fd_rows.size:
                tail = np.zeros((fd_rows.size, 56), dtype=np.uint8)
                tail[:, :width - 8] = full[fd_rows, 8:]
        base = self._frames.n
        self._frames.append({
            "t_end_ns": np.array(t_end, dtype=np.int64),
            "t_start_ns": np.array(t_start, dtype=np.int64),
            "id": np.array(ids, dtype=np.uint32),
            "dlc": lengths.astype(np.uint8),
            "sender": np.array(senders, dtype=np.uint8),
            "flags": np.array(flags, dtype=np.uint8),
            "data": data8,
        })
        if fd_rows is not None and fd_rows.size:
            self._fd.append({"index": fd_rows + base, "tail": tail})
        buf.clear()

    def _flush_samples(self) -> None:
        buf = self._sbuf
        if not buf:
            return
        rows = np.frombuffer(b"".join(buf), dtype=self._sample_dtype)
        self._stimes.append({"t_ns": rows["t"]})
        self._svalues.append(rows["v"].T)
        buf.clear()

    def flush(self) -> None:
        """Move buffered rows into the columns (queries do this themselves)."""
        self._flush_frames()
        self._flush_samples()

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Flush; finalize the spool into a native trace; save if ``save_dir`` was given.

        Idempotent. The trace stays queryable; appending raises :class:`TraceError`.
        """
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._fbuf = _ClosedBuffer()
        self._sbuf = _ClosedBuffer()
        for store in (self._frames, self._fd, self._stimes, self._svalues):
            store.finalize()
        if self._spool is not None:
            self._write_meta(self._spool)
        if self._save_dir is not None and not self._saved:
            self.save(self._save_dir, self._save_formats)

    def __enter__(self) -> Trace:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # On an exception (SIGINT included) the trace so far is still written; an error
        # while saving must not hide the run's own exception.
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except Exception as save_exc:  # noqa: BLE001
            exc.add_note(f"the trace could not be saved: {save_exc}")

    # -- native format -----------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME, "version": FORMAT_VERSION,
            "nodes": list(self.nodes), "quantities": list(self.quantities),
            "units": {q: quantity_unit(q) for q in self.quantities},
            "n_frames": self._frames.n, "n_fd": self._fd.n,
            "n_samples": self._stimes.n, "sample_blocks": list(self._svalues.sizes),
            "events": [list(e) for e in self._events], "end_ns": self.end_ns,
            "bytes_per_frame": self._frames.nbytes_per_row(),
            "start_time_s": self.start_time_s,
        }

    def _write_meta(self, directory: Path) -> None:
        from hil.trace.files import atomic_output
        with atomic_output(directory / DBC_FILE) as tmp:
            tmp.write_text(self.db.as_dbc_string(), encoding="utf-8")
        with atomic_output(directory / META_FILE) as tmp:
            tmp.write_text(json.dumps(self._meta(), indent=1), encoding="utf-8")

    def save(self, directory: str | os.PathLike[str],
             formats: Iterable[str] = ("blf", "mf4")) -> dict[str, Path]:
        """Close the trace, write it natively into ``directory`` (loadable with
        :meth:`load`) and export each format (``blf asc log mf4 csv``) as ``trace.<ext>``.

        Every file is written under a temporary name and renamed when complete. All
        formats are attempted; if any failed, :class:`TraceError` names them afterwards.
        """
        from hil.trace.files import atomic_output
        formats = check_formats(formats)
        self._saved = True  # close() must not save a second time
        self.close()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)

        def write(target: Path, fill: Callable[[Path], None]) -> None:
            with atomic_output(target) as tmp:
                fill(tmp)

        written: dict[str, Path] = {}
        failures: list[str] = []
        try:
            for store in (self._frames, self._fd, self._stimes, self._svalues):
                store.write_to(out, write)
            self._write_meta(out)
            written["native"] = out / META_FILE
        except Exception as exc:  # noqa: BLE001 - still try the exports
            failures.append(f"native: {exc}")
        for fmt in formats:
            try:
                written[fmt] = _exporter[0](self, fmt, out / EXPORT_FILES[fmt])
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{fmt}: {exc}")
        if failures:
            raise TraceError(f"trace saved to {out} incompletely: " + "; ".join(failures))
        return written

    @classmethod
    def load(cls, directory: str | os.PathLike[str],
             db: Database | str | os.PathLike[str] | None = None) -> Trace:
        """Open a native trace (a spool directory after close(), or Trace.save output)
        read-only; columns are memory-mapped, not read."""
        path = Path(directory)
        try:
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TraceError(f"not a complete trace: {exc}", file=str(path)) from None
        if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
            raise TraceError("unknown trace format or version", file=str(path / META_FILE))
        if db is None:
            db = _can_database(cantools.database.load_string(
                (path / DBC_FILE).read_text(encoding="utf-8"), database_format="dbc"))
        self = cls.__new__(cls)
        self.db = _resolve_db(db)
        self.nodes = tuple(meta["nodes"])
        self.quantities = tuple(meta["quantities"])
        self._spool = path
        self._save_dir = None
        self._save_formats = ()
        self._events = [tuple(e) for e in meta["events"]]
        self._fbuf = _ClosedBuffer()
        self._sbuf = _ClosedBuffer()
        self._pack = struct.Struct(f"<q{len(self.quantities)}d").pack
        self._closed = True
        self._saved = True
        self.start_time_s = float(meta.get("start_time_s", 0.0))
        self._decoded = {}
        self._decoders = {}
        self._frames = Table(_FRAME_SPEC, directory=path, prefix="frames.",
                             n_rows=meta["n_frames"], readonly=True)
        self._fd = Table(_FD_SPEC, directory=path, prefix="fd.", n_rows=meta["n_fd"],
                         readonly=True)
        self._stimes = Table(_SAMPLE_SPEC, directory=path, prefix="samples.",
                             n_rows=meta["n_samples"], readonly=True)
        self._svalues = Blocks(len(self.quantities), directory=path,
                               file_name="samples.values.bin",
                               sizes=meta["sample_blocks"], readonly=True)
        self._index_names()
        return self

    # -- queries -----------------------------------------------------------------------

    @property
    def end_ns(self) -> int:
        """Time of the last frame end, sample or event (0 for an empty trace)."""
        self.flush()
        ends = [0]
        if self._frames.n:
            ends.append(int(self._frames.column("t_end_ns")[-1]))
        if self._stimes.n:
            ends.append(int(self._stimes.column("t_ns")[-1]))
        if self._events:
            ends.append(max(e[0] for e in self._events))
        return max(ends)

    @property
    def n_frames(self) -> int:
        return self._frames.n + len(self._fbuf)

    @property
    def n_fd(self) -> int:
        """Frames with more than 8 payload bytes (CAN FD)."""
        self.flush()
        return self._fd.n

    @property
    def n_samples(self) -> int:
        return self._stimes.n + len(self._sbuf)

    def events(self) -> list[tuple[int, str, str]]:
        return list(self._events)

    def _message(self, message: str | int | Message) -> Message:
        if isinstance(message, Message):
            return message
        try:
            if isinstance(message, int):
                return self.db.get_message_by_frame_id(message)
            return self.db.get_message_by_name(message)
        except KeyError:
            names = [m.name for m in self.db.messages]
            close = difflib.get_close_matches(str(message), names, n=1)
            raise UnknownSignalError(str(message), close[0] if close else None,
                                     f"unknown message {message!r}") from None

    def _rows_of(self, msg: Message) -> np.ndarray:
        ids = self._frames.column("id")
        flags = self._frames.column("flags")
        want_ext = FLAG_EXTENDED if msg.is_extended_frame else 0
        return np.flatnonzero((ids == msg.frame_id) & ((flags & FLAG_EXTENDED) == want_ext))

    def _data64(self, rows: np.ndarray) -> np.ndarray:
        data = np.zeros((rows.size, 64), dtype=np.uint8)
        data[:, :8] = self._frames.column("data")[rows]
        if self._fd.n:
            fd_index = self._fd.column("index")
            hit = np.isin(fd_index, rows)
            if hit.any():
                pos = np.searchsorted(rows, fd_index[hit])
                data[pos, 8:] = self._fd.column("tail")[np.flatnonzero(hit)]
        return data

    def frames(self, message: str | int | Message | None = None) -> FrameView:
        """Frames of one DBC message (name, frame id or cantools Message), or all, in order."""
        self.flush()
        if message is None:
            rows = np.arange(self._frames.n)
        elif isinstance(message, int) and not isinstance(message, bool):
            rows = np.flatnonzero(self._frames.column("id") == message)
        else:
            rows = self._rows_of(self._message(message))
        return self._view(rows)

    def _view(self, rows: np.ndarray) -> FrameView:
        col = self._frames.column
        return FrameView(
            t_end_ns=np.asarray(col("t_end_ns")[rows]), t_start_ns=np.asarray(col("t_start_ns")[rows]),
            id=np.asarray(col("id")[rows]), dlc=np.asarray(col("dlc")[rows]),
            data=self._data64(rows), sender=np.asarray(col("sender")[rows]),
            flags=np.asarray(col("flags")[rows]),
        )

    def iter_frames(self, rows_per_chunk: int = 65536) -> Iterator[FrameView]:
        """All frames in order, a bounded chunk at a time (for exports)."""
        self.flush()
        for start in range(0, self._frames.n, rows_per_chunk):
            yield self._view(np.arange(start, min(start + rows_per_chunk, self._frames.n)))

    def iter_samples(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(t_ns, Q x n values) per stored block, in order (for exports)."""
        self.flush()
        t = self._stimes.column("t_ns")
        start = 0
        for block in self._svalues.iter_blocks():
            n = block.shape[1]
            yield np.asarray(t[start:start + n]), block
            start += n

    def decoded(self, message: str | int | Message) -> dict[str, Series]:
        """Every signal of one message as series (decoded once, cached; the cache holds
        at most :data:`DECODE_CACHE_BYTES`, least recently used messages go first)."""
        msg = self._message(message)
        self.flush()
        version = self._frames.n
        cached = self._decoded.pop(msg.name, None)
        if cached is None or cached[0] != version:
            cached = (version, self._decode_rows(msg, self._message_rows(msg)))
        self._decoded[msg.name] = cached   # most recently used last
        budget = DECODE_CACHE_BYTES
        while len(self._decoded) > 1 and sum(map(_series_bytes, self._decoded.values())) > budget:
            del self._decoded[next(iter(self._decoded))]
        return cached[1]

    def iter_decoded(self, message: str | int | Message,
                     rows_per_chunk: int = 65536) -> Iterator[dict[str, Series]]:
        """Every signal of one message, a bounded chunk of frames at a time, uncached (for
        exports: memory stays bounded however long the run)."""
        msg = self._message(message)
        self.flush()
        rows = self._message_rows(msg)
        for start in range(0, rows.size, rows_per_chunk):
            yield self._decode_rows(msg, rows[start:start + rows_per_chunk])

    def n_message_frames(self, message: str | int | Message) -> int:
        """Frames of one message, error frames left out (the length of a signal that
        every one of them carries)."""
        self.flush()
        return int(self._message_rows(self._message(message)).size)

    def _message_rows(self, msg: Message) -> np.ndarray:
        """Rows of the message's frames, error frames left out."""
        rows = self._rows_of(msg)
        flags = self._frames.column("flags")[rows]
        return rows[(flags & FLAG_ERROR) == 0]

    def _decode_rows(self, msg: Message, rows: np.ndarray) -> dict[str, Series]:
        decoder = self._decoders.get(msg.name)
        if decoder is None:
            decoder = self._decoders[msg.name] = MessageDecoder(msg)
        if decoder.width > 8:
            data = self._data64(rows)
        else:
            data = np.asarray(self._frames.column("data")[rows])
        t = np.asarray(self._frames.column("t_end_ns")[rows])
        dlc = np.asarray(self._frames.column("dlc")[rows])
        out: dict[str, Series] = {}
        decoded = decoder.decode(data, dlc)
        for sig in msg.signals:
            mask, values = decoded[sig.name]
            ts = t if mask is None else t[mask]
            vs = values if mask is None else values[mask]
            out[sig.name] = Series(ts, vs, sig.name, sig.unit or "", "frame")
        return out

    def signal(self, name: str) -> Series:
        """A DBC signal (``Sig`` or ``Msg.Sig``) or a plant quantity as a time series."""
        found = self._resolve(name)
        if isinstance(found, int):
            self.flush()
            return Series(np.asarray(self._stimes.column("t_ns")),
                          np.asarray(self._svalues.row(found)), name, quantity_unit(name),
                          "plant")
        msg, sig = found
        return self.decoded(msg)[sig.name]

    def first_time(self, name: str, predicate: Callable[[np.ndarray], np.ndarray], *,
                   since_ns: int | None = None) -> int | None:
        """Time (ns) of the first sample where the vectorised ``predicate(values)`` holds,
        optionally at or after ``since_ns``; None if it never does."""
        s = self.signal(name)
        t, v = s.t_ns, s.values
        if since_ns is not None:
            start = int(np.searchsorted(t, since_ns, side="left"))
            t, v = t[start:], v[start:]
        hits = np.asarray(predicate(v), dtype=bool)
        if hits.shape != v.shape:
            raise TraceError(f"predicate on {name!r} must return one bool per sample")
        idx = np.flatnonzero(hits)
        return int(t[idx[0]]) if idx.size else None

    def memory_bytes(self) -> int:
        """Bytes held in numpy columns and append buffers (approximate for buffers)."""
        stores = (self._frames.memory_bytes() + self._fd.memory_bytes()
                  + self._stimes.memory_bytes() + self._svalues.memory_bytes())
        return stores + 250 * len(self._fbuf) + sum(map(len, self._sbuf))

    def node_name(self, sender: int) -> str:
        return self.nodes[sender] if 0 <= sender < len(self.nodes) else f"node{sender}"
