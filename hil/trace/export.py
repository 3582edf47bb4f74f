"""Writing a trace in the ecosystem's formats, never a half-written file.

BLF, ASC and candump log go through python-can's own writers (``can.BLFWriter``,
``can.ASCWriter``, ``can.CanutilsLogWriter``), MF4 through asammdf, CSV through numpy;
no home-made binary writer. Every writer writes to ``<stem>.partial<suffix>`` in the
target's directory (the suffix stays last: asammdf and python-can choose behaviour by it)
and :func:`atomic_output` renames it to the final name only when the writer finished; on
any exception, ``KeyboardInterrupt`` included, the partial file is removed.

:func:`export` is the one entry point (``export(trace, "blf", path)``) and :data:`FORMATS`
the one table of formats. The recorder (:mod:`hil.trace.core`) does not import this
module: this module registers :func:`export` with it on import (the :mod:`hil.trace`
package imports both), so ``Trace.save`` and a save on ``close()`` reach the writers while
the import runs one way, export -> core.

Frames are streamed to the CAN writers a bounded chunk at a time, so an export of a
spooled long run does not load it into memory. A frame's timestamp is its end time (when
receivers see it), as on the simulated bus, plus the run's start time
(:attr:`Trace.start_time_s`): the wall-clock time of t=0 for wall-clock runs, so a BLF
header says when the run happened, and 0 (simulated time from 1970-01-01) in SIL.

One bus, one channel number in every format: python-can channel 0, which the Vector
formats count from one (BLF and ASC show channel 1, MF4 ``CAN_DataFrame.BusChannel`` 1,
CANape's and asammdf's ``CAN1``) and candump names ``can0``.

MF4 holds the raw frames as ASAM MDF bus logging (a ``CAN_DataFrame`` channel group with
the bus-event flag and a CAN acquisition source, as python-can's ``MF4Writer`` writes it),
so asammdf's ``extract_bus_logging`` and CANape re-decode them with any DBC, alongside the
decoded signals (integer types for flags, value tables and integer signals) and the plant
quantities (float32: :data:`MF4_PLANT_DTYPE`); it is compressed (asammdf's transposition +
deflate) by default and written a chunk at a time, so exporting a long run needs no more
memory than a short one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hil.errors import TraceError
from hil.trace import core
from hil.trace.core import Trace, quantity_unit
from hil.trace.files import atomic_output

#: python-can's channel of the bench's one bus (0-based; BLF/ASC/MF4 show 1, candump can0).
CHANNEL = 0
#: asammdf compression of MF4 exports: 2 = transposition + deflate (smallest files).
MF4_COMPRESSION: Literal[2] = 2
#: Plant quantities in MF4: float32, 7 significant digits (finer than any sensor the
#: bench models; the plant's own noise lives in the low float64 bits, which deflate cannot
#: compress): a 10-minute run's MF4 is 64 MB instead of 134 MB. The native trace
#: (``hil run --trace native``) and CSV keep every float64 bit; pass "<f8" for the same.
MF4_PLANT_DTYPE = "<f4"

if TYPE_CHECKING:
    import can

__all__ = ["FORMATS", "export", "to_blf", "to_asc", "to_log",
           "to_mf4", "to_csv", "iter_can_messages"]


def iter_can_messages(trace: Trace) -> Iterator[can.Message]:
    """Every frame of the trace as a ``can.Message``, in order."""
    import can

    from hil.wire.flags import FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_RX
    start = trace.start_time_s
    for view in trace.iter_frames():
        t_s = (view.t_end_ns / 1e9 + start).tolist()
        ids = view.id.tolist()
        dlcs = view.dlc.tolist()
        flags = view.flags.tolist()
        data = view.data
        for i, fl in enumerate(flags):
            yield can.Message(
                timestamp=t_s[i], arbitration_id=ids[i], is_extended_id=bool(fl & FLAG_EXTENDED),
                is_error_frame=bool(fl & FLAG_ERROR), is_fd=bool(fl & FLAG_FD),
                is_rx=bool(fl & FLAG_RX), dlc=dlcs[i], data=data[i, :dlcs[i]].tobytes(),
                channel=CHANNEL, check=False,
            )


def _write_can(trace: Trace, path: str | os.PathLike[str], make_writer) -> Path:
    final = Path(path)
    with atomic_output(final) as tmp:
        writer = make_writer(tmp)
        try:
            for msg in iter_can_messages(trace):
                writer.on_message_received(msg)
        finally:
            writer.stop()
    return final


def to_blf(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """Vector BLF through ``can.BLFWriter``."""
    import can
    return _write_can(trace, path, lambda tmp: can.BLFWriter(tmp, channel=CHANNEL + 1))


def to_asc(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """Vector ASC through ``can.ASCWriter``."""
    import can
    return _write_can(trace, path, lambda tmp: can.ASCWriter(tmp, channel=CHANNEL + 1))


def to_log(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """candump ``-l`` log through ``can.CanutilsLogWriter``."""
    import can
    return _write_can(trace, path, lambda tmp: can.CanutilsLogWriter(tmp, channel=f"can{CHANNEL}"))


def _value_table(choices) -> dict[str, object] | None:
    """DBC value table as an MF4 value-to-text conversion (asammdf's dict form)."""
    if not choices:
        return None
    conv: dict[str, object] = {}
    for i, (number, text) in enumerate(sorted(choices.items())):
        conv[f"val_{i}"] = float(number)
        conv[f"text_{i}"] = str(text).encode("utf-8")
    conv["default_addr"] = b""
    return conv


def signal_dtype(sig) -> np.dtype:
    """The numpy type of a DBC signal's physical values: the smallest integer type that
    holds every value of an integer signal (a flag, a value table, a counter: integer
    scale and offset, not a float), float64 otherwise."""
    scale, offset = sig.scale or 1, sig.offset or 0
    if sig.is_float or scale != int(scale) or offset != int(offset):
        return np.dtype(np.float64)
    if sig.is_signed:
        raw = (-(1 << (sig.length - 1)), (1 << (sig.length - 1)) - 1)
    else:
        raw = (0, (1 << sig.length) - 1)
    ends = sorted(int(r * scale + offset) for r in raw)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= ends[0] and ends[1] <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.float64)


def _typed(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "f" or not values.size:
        return values.astype(dtype, copy=False)
    if not np.isfinite(values).all():  # a truncated frame: keep the float NaN
        return values
    return values.astype(dtype)


def _bus_frames(view, width: int, dtype: np.dtype) -> np.ndarray:
    """One chunk of frames as ASAM MDF CAN_DataFrame records (python-can's MF4Writer
    layout, vectorised)."""
    from hil.wire.flags import FLAG_EXTENDED, FLAG_FD, FLAG_RX

    n = len(view)
    rec = np.zeros(n, dtype=dtype)
    flags = view.flags
    rec["CAN_DataFrame.BusChannel"] = CHANNEL + 1
    rec["CAN_DataFrame.ID"] = view.id
    rec["CAN_DataFrame.IDE"] = (flags & FLAG_EXTENDED) != 0
    length = view.dlc
    fd = (flags & FLAG_FD) != 0
    if fd.any():
        import can.util

        dlc = np.array([can.util.len2dlc(int(x)) for x in length], dtype=np.uint8)
        rec["CAN_DataFrame.DLC"] = np.where(fd, dlc, length)
    else:
        rec["CAN_DataFrame.DLC"] = length
    rec["CAN_DataFrame.DataLength"] = length
    rec["CAN_DataFrame.DataBytes"] = view.data[:, :width]
    rec["CAN_DataFrame.Dir"] = (flags & FLAG_RX) == 0  # 0 Rx, 1 Tx (as MF4Writer)
    rec["CAN_DataFrame.EDL"] = fd
    return rec


def _append_bus_logging(mdf, trace: Trace) -> None:
    """The trace's data frames as one CAN bus-logging channel group, chunk by chunk."""
    from asammdf import Signal
    from asammdf.blocks.source_utils import Source

    from hil.wire.flags import FLAG_ERROR

    width = 64 if trace.n_fd else 8
    dtype = np.dtype([
        ("CAN_DataFrame.BusChannel", "<u1"), ("CAN_DataFrame.ID", "<u4"),
        ("CAN_DataFrame.IDE", "<u1"), ("CAN_DataFrame.DLC", "<u1"),
        ("CAN_DataFrame.DataLength", "<u1"), ("CAN_DataFrame.DataBytes", f"({width},)u1"),
        ("CAN_DataFrame.Dir", "<u1"), ("CAN_DataFrame.EDL", "<u1"),
        ("CAN_DataFrame.BRS", "<u1"), ("CAN_DataFrame.ESI", "<u1"),
    ])
    source = Source(name="CAN", path="CAN", comment="n.Tec HIL bench bus",
                    source_type=Source.SOURCE_BUS, bus_type=Source.BUS_TYPE_CAN)
    index = None
    for view in trace.iter_frames():
        keep = (view.flags & FLAG_ERROR) == 0
        if not keep.all():
            view = type(view)(*(getattr(view, f)[keep] for f in (
                "t_end_ns", "t_start_ns", "id", "dlc", "data", "sender", "flags")))
        if not len(view):
            continue
        t_s = view.t_end_ns / 1e9
        rec = _bus_frames(view, width, dtype)
        if index is None:
            mdf.append(Signal(samples=rec, timestamps=t_s, name="CAN_DataFrame",
                              source=source, comment="raw CAN frames (ASAM MDF bus logging)"),
                       acq_name="CAN1", acq_source=source,
                       comment="CAN bus logging: every data frame of the run")
            index = len(mdf.groups) - 1
        else:
            mdf.extend(index, [(t_s, None), (rec, None)])


def _append_message(mdf, trace: Trace, msg, rows_per_chunk: int = 131072) -> None:
    """One DBC message's decoded signals, a chunk of frames at a time (memory bounded by
    the chunk, not the run): one channel group for the signals every frame carries, one
    group per signal that some frames lack (multiplexed, or a frame cut short), since the
    signals of a group share its time base."""
    from asammdf import Signal

    frame_count = trace.n_message_frames(msg)
    if not frame_count:
        return
    # Pass 1: which signals does every frame carry? (decoding is cheap next to writing)
    counts = {sig.name: 0 for sig in msg.signals}
    for chunk in trace.iter_decoded(msg, rows_per_chunk):
        for name, series in chunk.items():
            counts[name] += len(series)
    shared = [sig for sig in msg.signals if counts[sig.name] == frame_count]
    own = [sig for sig in msg.signals if 0 < counts[sig.name] != frame_count]
    dtypes = {sig.name: signal_dtype(sig) for sig in msg.signals}
    groups: dict[str, int] = {}

    def signal(sig, series) -> Signal:
        return Signal(samples=_typed(series.values, dtypes[sig.name]), timestamps=series.t_s,
                      name=sig.name, unit=sig.unit or "", comment=sig.comment or "",
                      conversion=_value_table(sig.choices))

    for chunk in trace.iter_decoded(msg, rows_per_chunk):
        if shared and len(chunk[shared[0].name]):
            if msg.name not in groups:
                mdf.append([signal(sig, chunk[sig.name]) for sig in shared],
                           acq_name=msg.name, comment=msg.comment or msg.name)
                groups[msg.name] = len(mdf.groups) - 1
            else:
                mdf.extend(groups[msg.name], [(chunk[shared[0].name].t_s, None)] + [
                    (_typed(chunk[sig.name].values, dtypes[sig.name]), None) for sig in shared])
        for sig in own:
            series = chunk[sig.name]
            if not len(series):
                continue
            key = f"{msg.name}.{sig.name}"
            if key not in groups:
                mdf.append([signal(sig, series)], acq_name=key)
                groups[key] = len(mdf.groups) - 1
            else:
                mdf.extend(groups[key], [(series.t_s, None),
                                         (_typed(series.values, dtypes[sig.name]), None)])


def to_mf4(trace: Trace, path: str | os.PathLike[str], *,
           compression: Literal[0, 1, 2] = MF4_COMPRESSION,
           plant_dtype: str = MF4_PLANT_DTYPE) -> Path:
    """MF4 through asammdf: the raw frames as CAN bus logging (``CAN_DataFrame``), one
    channel group per DBC message that has frames (decoded physical signals in their
    numpy type, DBC units, value tables as text conversions), one ``plant`` group with
    every plant quantity (unit from its name suffix) as ``plant_dtype``. ``compression``:
    asammdf's (0 none, 1 deflate, 2 transposition + deflate). Written a chunk at a time
    (frames per message, plant blocks): memory is bounded by a chunk, not the run."""
    try:
        from asammdf import MDF, Signal
    except ImportError as exc:  # optional heavy dependency: an informative error
        raise TraceError(f"MF4 export needs asammdf: {exc}") from None
    from datetime import UTC, datetime
    final = Path(path)
    mdf = MDF(version="4.10")
    try:
        mdf.header.start_time = datetime.fromtimestamp(trace.start_time_s, tz=UTC)
        _append_bus_logging(mdf, trace)
        for msg in trace.db.messages:
            _append_message(mdf, trace, msg)
        if trace.quantities:
            index = None
            for t_ns, block in trace.iter_samples():
                t_s = t_ns / 1e9
                if index is None:
                    mdf.append([Signal(samples=block[q].astype(plant_dtype), timestamps=t_s, name=name,
                                       unit=quantity_unit(name))
                                for q, name in enumerate(trace.quantities)],
                               acq_name="plant", comment="plant quantities, one per step")
                    index = len(mdf.groups) - 1
                else:
                    # Extend block by block: the export of a spooled run stays bounded.
                    mdf.extend(index, [(t_s, None)] + [(block[q].astype(plant_dtype), None)
                                                       for q in range(len(trace.quantities))])
        with atomic_output(final) as tmp:
            written = Path(mdf.save(tmp, overwrite=True, compression=compression))
            if written != tmp:
                raise TraceError(f"asammdf wrote {written} instead of {tmp}")
    finally:
        mdf.close()
    return final


def to_csv(trace: Trace, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Two CSV files next to ``path``: ``<stem>_frames.csv`` (time_s, id hex, dlc, data
    hex, sender, flags) and ``<stem>_samples.csv`` (time_s, one column per quantity)."""
    base = Path(path)
    frames_path = base.with_name(f"{base.stem}_frames.csv")
    samples_path = base.with_name(f"{base.stem}_samples.csv")
    with atomic_output(frames_path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write("time_s,id,dlc,data,sender,flags\n")
        for view in trace.iter_frames():
            names = [trace.node_name(s) for s in view.sender.tolist()]
            lines = [
                f"{t / 1e9:.9f},{i:X},{d},{view.data[k, :d].tobytes().hex().upper()},{n},{fl}\n"
                for k, (t, i, d, n, fl) in enumerate(zip(
                    view.t_end_ns.tolist(), view.id.tolist(), view.dlc.tolist(), names,
                    view.flags.tolist(), strict=True))
            ]
            f.writelines(lines)
    with atomic_output(samples_path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(",".join(["time_s", *trace.quantities]) + "\n")
        for t_ns, block in trace.iter_samples():
            table = np.column_stack([t_ns / 1e9, np.asarray(block).T])
            np.savetxt(f, table, fmt=["%.9f"] + ["%.17g"] * len(trace.quantities),
                       delimiter=",")
    return frames_path, samples_path


#: Every export format: its writer and the file it writes in a saved trace directory.
FORMATS: dict[str, tuple[Any, str]] = {
    "blf": (to_blf, "trace.blf"), "asc": (to_asc, "trace.asc"), "log": (to_log, "trace.log"),
    "mf4": (to_mf4, "trace.mf4"), "csv": (to_csv, "trace.csv"),
}


def export(trace: Trace, fmt: str, path: str | os.PathLike[str]) -> Path:
    """Write ``trace`` as ``fmt`` (blf, asc, log, mf4, csv) to ``path``; csv writes two
    files next to it and returns the frames file."""
    core.check_formats((fmt,))
    out = FORMATS[fmt][0](trace, path)
    return out[0] if isinstance(out, tuple) else out


core.register_exporter(export, {fmt: name for fmt, (_, name) in FORMATS.items()})
