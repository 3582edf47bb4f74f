"""Exports read back with the ecosystem's readers; no half-written file is ever left."""

from __future__ import annotations

import csv
from pathlib import Path

import can
import numpy as np
import pytest
from asammdf import MDF

import hil.trace.files
from hil.errors import TraceError
from hil.trace import Trace
from hil.trace.export import export, to_csv
from hil.wire.flags import FLAG_EXTENDED

QUANTITIES = ("engine.speed_rpm", "sensor.boost_pressure_kpa", "exhaust.egt_c", "aero.drs_open")


@pytest.fixture
def trace(db, filler):
    tr = Trace(db, quantities=QUANTITIES, chunk_frames=100, chunk_samples=64)
    filler(tr, db, steps=120)
    tr.add_frame(200_000_000, 199_800_000, 0x1ABCDEF, b"\x01\x02", 2, flags=FLAG_EXTENDED)
    return tr


def _expected(trace):
    out = []
    for view in trace.iter_frames():
        for i in range(len(view)):
            out.append((view.t_end_ns[i] / 1e9, int(view.id[i]),
                        view.data[i, :view.dlc[i]].tobytes()))
    return out


@pytest.mark.parametrize("fmt,reader", [("blf", can.BLFReader), ("asc", can.ASCReader),
                                        ("log", can.CanutilsLogReader)])
def test_can_formats_read_back(trace, tmp_path, fmt, reader):
    path = export(trace, fmt, tmp_path / f"run.{fmt}")
    assert path == tmp_path / f"run.{fmt}" and path.exists()
    got = list(reader(str(path)))
    want = _expected(trace)
    assert [(m.arbitration_id, bytes(m.data)) for m in got] == [(i, d) for _, i, d in want]
    assert got[-1].is_extended_id and not got[0].is_extended_id
    # BLF stores ns, ASC and candump us: compare times relative to the first frame.
    t0 = got[0].timestamp
    np.testing.assert_allclose([m.timestamp - t0 for m in got],
                               [t - want[0][0] for t, _, _ in want], atol=2e-6)
    assert not list(tmp_path.glob("*.partial*"))


def test_mf4_reads_back_with_names_units_and_tables(trace, tmp_path):
    path = export(trace, "mf4", tmp_path / "run.mf4")
    with MDF(path) as mdf:
        speed = mdf.get("EngineSpeed")
        np.testing.assert_array_equal(speed.samples, trace.signal("EngineSpeed").values)
        np.testing.assert_allclose(speed.timestamps, trace.signal("EngineSpeed").t_s)
        assert speed.unit == "rpm"
        egt = mdf.get("exhaust.egt_c")
        assert egt.unit == "degC"
        np.testing.assert_array_equal(egt.samples, trace.signal("exhaust.egt_c").values)
        assert len(egt.timestamps) == trace.n_samples
        mode = mdf.get("EngineMode", raw=True)
        np.testing.assert_array_equal(mode.samples, trace.signal("EngineMode").values)
        text = mdf.get("EngineMode")
        assert text.samples[0] in (b"NORMAL", "NORMAL")  # value table as text
        groups = {g.channel_group.acq_name for g in mdf.groups}
        assert {"PlantFast", "EcuFast", "EcuStatus", "plant"} <= groups
    assert not list(tmp_path.glob("*.partial*"))


def test_mf4_of_a_spooled_trace_extends_by_block(db, filler, tmp_path):
    tr = Trace(db, quantities=QUANTITIES, spool_dir=tmp_path / "spool", chunk_samples=16)
    filler(tr, db, steps=100)
    tr.close()
    with MDF(export(tr, "mf4", tmp_path / "spooled.mf4")) as mdf:
        rpm = mdf.get("engine.speed_rpm")
        np.testing.assert_array_equal(rpm.samples, 1000.0 + np.arange(100))
        np.testing.assert_array_equal(rpm.timestamps, np.arange(100) / 1000)


def test_csv(trace, tmp_path):
    frames, samples = to_csv(trace, tmp_path / "run.csv")
    with open(frames, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == trace.n_frames
    assert rows[0]["id"] == "90" and rows[0]["sender"] == "PLANT" and rows[0]["dlc"] == "8"
    assert bytes.fromhex(rows[-1]["data"]) == b"\x01\x02" and rows[-1]["sender"] == "BENCH"
    with open(samples, newline="") as f:
        srows = list(csv.DictReader(f))
    assert len(srows) == 120 and float(srows[7]["exhaust.egt_c"]) == 607.0
    assert float(srows[7]["time_s"]) == pytest.approx(0.007)


def test_exception_in_run_still_writes_complete_trace(db, filler, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with Trace(db, quantities=QUANTITIES, spool_dir=tmp_path / "spool", save_dir=out,
                   formats=("blf", "mf4", "csv")) as tr:
            filler(tr, db, steps=50)
            raise KeyboardInterrupt  # what SIGINT raises in the main thread
    assert not list(out.glob("*.partial*")) and not list((tmp_path / "spool").glob("*.partial*"))
    assert len(list(can.BLFReader(str(out / "trace.blf")))) == tr.n_frames
    with MDF(out / "trace.mf4") as mdf:
        assert len(mdf.get("EngineSpeed").samples) == 50
    assert len(Trace.load(out).signal("engine.speed_rpm")) == 50


def test_interrupted_export_leaves_no_file_under_final_name(trace, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = can.BLFWriter.on_message_received

    def flaky(self, msg):
        calls["n"] += 1
        if calls["n"] == 50:
            raise KeyboardInterrupt
        original(self, msg)

    monkeypatch.setattr(can.BLFWriter, "on_message_received", flaky)
    with pytest.raises(KeyboardInterrupt):
        export(trace, "blf", tmp_path / "run.blf")
    assert list(tmp_path.iterdir()) == []


def test_failed_mf4_save_reports_and_keeps_the_rest(trace, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(MDF, "save", broken)
    with pytest.raises(TraceError, match="mf4: disk full"):
        trace.save(tmp_path / "out", formats=("mf4", "blf"))
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "trace.mf4" not in names and "trace.blf" in names and "trace.json" in names
    assert not [n for n in names if ".partial" in n]


def test_atomic_output_removes_partial(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(RuntimeError):
        with hil.trace.files.atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_names_closest(trace, tmp_path):
    with pytest.raises(ValueError, match="'mf4'"):
        trace.save(tmp_path, formats=("mdf4",))


def test_mf4_carries_the_raw_frames_as_bus_logging(trace, tmp_path):
    """asammdf re-decodes the MF4's CAN_DataFrame group with the DBC: the same samples as
    the BLF, frame for frame; python-can's MF4Reader reads the frames back too."""
    path = export(trace, "mf4", tmp_path / "run.mf4")
    blf = [m for m in can.BLFReader(str(export(trace, "blf", tmp_path / "run.blf")))
           if m.arbitration_id == trace.db.get_message_by_name("PlantFast").frame_id]
    dbc = str(Path(__file__).resolve().parents[2] / "dbc" / "ntec5.dbc")
    with MDF(path) as mdf:
        extracted = mdf.extract_bus_logging({"CAN": [(dbc, 0)]})
        names = [n for n in extracted.channels_db if n.endswith("EngineSpeed")]
        assert names, sorted(extracted.channels_db)[:20]
        speed = extracted.get(names[0])
        assert len(speed.samples) == len(blf) == len(trace.signal("EngineSpeed"))
        np.testing.assert_array_equal(speed.samples, trace.signal("EngineSpeed").values)
        extracted.close()
    frames = list(can.MF4Reader(str(path)))
    assert len(frames) == trace.n_frames
    assert [(m.arbitration_id, bytes(m.data)) for m in frames] == \
        [(i, d) for _, i, d in _expected(trace)]


def test_mf4_types_flags_and_value_tables_as_integers_and_compresses(trace, tmp_path):
    small = export(trace, "mf4", tmp_path / "run.mf4")
    big = hil.trace.export.to_mf4(trace, tmp_path / "plain.mf4", compression=0)
    assert small.stat().st_size < big.stat().st_size
    with MDF(small) as mdf:
        assert mdf.get("FuelCut").samples.dtype == np.uint8          # a 1-bit flag
        assert mdf.get("EngineMode", raw=True).samples.dtype.kind in "ui"  # a value table
        assert mdf.get("FuelMass").samples.dtype == np.float64       # a scaled signal
        np.testing.assert_array_equal(mdf.get("FuelCut").samples,
                                      trace.signal("FuelCut").values)


def test_one_channel_number_in_every_format(trace, tmp_path):
    """python-can channel 0: BLF and ASC count it as 1 (and read it back as 0), candump
    names it can0, MF4 bus logging stores BusChannel 1 (CANape's CAN1)."""
    blf = next(iter(can.BLFReader(str(export(trace, "blf", tmp_path / "r.blf")))))
    asc_path = export(trace, "asc", tmp_path / "r.asc")
    asc = next(iter(can.ASCReader(str(asc_path))))
    assert blf.channel == asc.channel == 0
    first = next(line for line in asc_path.read_text().splitlines()
                 if " Rx " in line or " Tx " in line)
    assert first.split()[1] == "1"
    log_line = export(trace, "log", tmp_path / "r.log").read_text().splitlines()[0]
    assert log_line.split()[1] == "can0"
    with MDF(export(trace, "mf4", tmp_path / "r.mf4")) as mdf:
        assert set(mdf.get("CAN_DataFrame.BusChannel").samples.tolist()) == {1}


def test_exports_carry_the_runs_start_time(trace, tmp_path):
    """A wall-clock run sets start_time_s (Unix time of t=0): BLF, ASC, candump log and
    MF4 say when the run happened; times within the run are unchanged."""
    from datetime import UTC, datetime

    start = datetime(2026, 12, 1, 21, 30, 5, tzinfo=UTC).timestamp()
    trace.start_time_s = start
    first_t = _expected(trace)[0][0]
    blf_path = export(trace, "blf", tmp_path / "r.blf")
    reader = can.BLFReader(str(blf_path))
    assert abs(reader.start_timestamp - (start + first_t)) < 1e-3
    assert abs(next(iter(reader)).timestamp - (start + first_t)) < 1e-6
    asc = next(iter(can.ASCReader(str(export(trace, "asc", tmp_path / "r.asc")),
                                  relative_timestamp=False)))
    assert abs(asc.timestamp - (start + first_t)) < 1e-3
    log = next(iter(can.CanutilsLogReader(str(export(trace, "log", tmp_path / "r.log")))))
    assert abs(log.timestamp - (start + first_t)) < 1e-5
    with MDF(export(trace, "mf4", tmp_path / "r.mf4")) as mdf:
        assert abs(mdf.header.start_time.timestamp() - start) < 1e-3
        np.testing.assert_allclose(mdf.get("EngineSpeed").timestamps,
                                   trace.signal("EngineSpeed").t_s)
def test_export_is_one_function_and_the_recorder_does_not_import_it():
    """The import runs export -> core only; Trace.save reaches the writers through the
    exporter's registration (the package imports it)."""
    import ast
    from pathlib import Path

    import hil.trace.core as core
    import hil.trace.export as exporter

    tree = ast.parse(Path(core.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("hil.trace.export")}
    assert not [n for n in dir(Trace) if n.startswith("to_")]
    assert core.EXPORT_FILES == {fmt: name for fmt, (_, name) in exporter.FORMATS.items()}


def test_export_of_unknown_format_is_one_line(trace, tmp_path):
    with pytest.raises(ValueError, match=r"unknown trace format 'blff' \(did you mean 'blf'"):
        export(trace, "blff", tmp_path / "x")
    assert list(tmp_path.iterdir()) == []
