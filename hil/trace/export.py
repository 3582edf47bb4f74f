"""Writing a trace in the ecosystem's formats, never a half-written file.

BLF, ASC and candump log go through python-can's own writers (``can.BLFWriter``,
``can.ASCWriter``, ``can.CanutilsLogWriter``), MF4 through asammdf, CSV through numpy;
no home-made binary writer. Every writer writes to ``<stem>.partial<suffix>`` in the
target's directory (the suffix stays last: asammdf and python-can choose behaviour by it)
and :func:`atomic_output` renames it to the final name only when the writer finished; on
any exception, ``KeyboardInterrupt`` included, the partial file is removed.

Frames are streamed to the CAN writers a bounded chunk at a time, so an export of a
spooled long run does not load it into memory. A frame's timestamp is its end time (when
receivers see it), as on the simulated bus.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hil.errors import ConfigError, TraceError
from hil.trace.files import atomic_output

if TYPE_CHECKING:  # the trace imports this module lazily; no cycle at runtime
    import can

    from hil.trace.core import Trace

__all__ = ["export", "to_blf", "to_asc", "to_log",
           "to_mf4", "to_csv", "iter_can_messages"]


def iter_can_messages(trace: Trace) -> Iterator[can.Message]:
    """Every frame of the trace as a ``can.Message``, in order."""
    import can

    from hil.wire.flags import FLAG_ERROR, FLAG_EXTENDED, FLAG_FD, FLAG_RX
    for view in trace.iter_frames():
        t_s = (view.t_end_ns / 1e9).tolist()
        ids = view.id.tolist()
        dlcs = view.dlc.tolist()
        flags = view.flags.tolist()
        data = view.data
        for i, fl in enumerate(flags):
            yield can.Message(
                timestamp=t_s[i], arbitration_id=ids[i], is_extended_id=bool(fl & FLAG_EXTENDED),
                is_error_frame=bool(fl & FLAG_ERROR), is_fd=bool(fl & FLAG_FD),
                is_rx=bool(fl & FLAG_RX), dlc=dlcs[i], data=data[i, :dlcs[i]].tobytes(),
                channel=1, check=False,
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
    return _write_can(trace, path, lambda tmp: can.BLFWriter(tmp, channel=1))


def to_asc(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """Vector ASC through ``can.ASCWriter``."""
    import can
    return _write_can(trace, path, lambda tmp: can.ASCWriter(tmp, channel=1))


def to_log(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """candump ``-l`` log through ``can.CanutilsLogWriter``."""
    import can
    return _write_can(trace, path, lambda tmp: can.CanutilsLogWriter(tmp, channel="can0"))


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


def to_mf4(trace: Trace, path: str | os.PathLike[str]) -> Path:
    """MF4 through asammdf: one channel group per DBC message that has frames (decoded
    physical signals, DBC units, value tables as text conversions), one ``plant`` group
    with every plant quantity (unit from its name suffix)."""
    try:
        from asammdf import MDF, Signal
    except ImportError as exc:  # STYLE.md: optional heavy dependency, informative error
        raise TraceError(f"MF4 export needs asammdf: {exc}") from None
    from hil.trace.core import quantity_unit
    final = Path(path)
    mdf = MDF(version="4.10")
    try:
        for msg in trace.db.messages:
            decoded = trace.decoded(msg)
            if not decoded or not len(next(iter(decoded.values()))):
                continue
            signals = []
            for sig in msg.signals:
                s = decoded[sig.name]
                if not len(s):
                    continue
                signals.append(Signal(samples=s.values, timestamps=s.t_s, name=sig.name,
                                      unit=sig.unit or "", comment=sig.comment or "",
                                      conversion=_value_table(sig.choices)))
            # Signals of one group share the time base; a multiplexed or truncated
            # frame can break that, so such signals get a group of their own.
            base = len(signals[0].timestamps) if signals else 0
            same = [s for s in signals if len(s.timestamps) == base]
            if same:
                mdf.append(same, acq_name=msg.name, comment=msg.comment or msg.name)
            for s in signals:
                if len(s.timestamps) != base:
                    mdf.append([s], acq_name=f"{msg.name}.{s.name}")
        if trace.quantities:
            index = None
            for t_ns, block in trace.iter_samples():
                t_s = t_ns / 1e9
                if index is None:
                    mdf.append([Signal(samples=np.array(block[q]), timestamps=t_s, name=name,
                                       unit=quantity_unit(name))
                                for q, name in enumerate(trace.quantities)],
                               acq_name="plant", comment="plant quantities, one per step")
                    index = len(mdf.groups) - 1
                else:
                    # Extend block by block: the export of a spooled run stays bounded.
                    mdf.extend(index, [(t_s, None)] + [(np.array(block[q]), None)
                                                       for q in range(len(trace.quantities))])
        with atomic_output(final) as tmp:
            written = Path(mdf.save(tmp, overwrite=True))
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


_WRITERS = {"blf": to_blf, "asc": to_asc, "log": to_log, "mf4": to_mf4, "csv": to_csv}


def export(trace: Trace, fmt: str, path: str | os.PathLike[str]) -> Path:
    """Write ``trace`` as ``fmt`` (blf, asc, log, mf4, csv) to ``path``."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ConfigError(f"unknown trace format {fmt!r} (known: {', '.join(_WRITERS)})")
    out = writer(trace, path)
    return out[0] if isinstance(out, tuple) else out
