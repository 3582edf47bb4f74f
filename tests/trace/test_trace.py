"""Append/query round trip, names, errors, streaming memory bound, native save/load."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from hil.errors import TraceError
from hil.trace import Trace, UnknownSignalError
from hil.wire.flags import FLAG_ERROR, FLAG_FD

QUANTITIES = ("engine.speed_rpm", "sensor.boost_pressure_kpa", "exhaust.egt_c", "aero.drs_open")


@pytest.fixture(params=["memory", "spool"])
def trace(request, db, tmp_path, filler):
    spool = tmp_path / "spool" if request.param == "spool" else None
    tr = Trace(db, quantities=QUANTITIES, spool_dir=spool, chunk_frames=64, chunk_samples=32)
    filler(tr, db)
    return tr


def test_signal_round_trip(trace):
    s = trace.signal("EngineSpeed")
    assert s.source == "frame" and s.unit == "rpm" and s.name == "EngineSpeed"
    assert s.t_ns.dtype == np.int64 and s.values.dtype == np.float64
    np.testing.assert_array_equal(s.values, 1000 + np.arange(300))
    np.testing.assert_array_equal(s.t_ns, np.arange(300) * 1_000_000 + 250_000)
    np.testing.assert_allclose(s.t_s, s.t_ns / 1e9)
    q = trace.signal("PlantFast.EngineSpeed")
    np.testing.assert_array_equal(q.values, s.values)
    mode = trace.signal("EngineMode")
    assert len(mode) == 30 and mode.values[-1] == trace.choices("EngineMode")["LIMP"]
    np.testing.assert_allclose(trace.signal("LambdaTrim").values, -1.2)


def test_plant_quantities(trace):
    s = trace.signal("exhaust.egt_c")
    assert s.source == "plant" and s.unit == "degC"
    np.testing.assert_array_equal(s.values, 600.0 + np.arange(300))
    np.testing.assert_array_equal(s.t_ns, np.arange(300) * 1_000_000)
    assert trace.signal("sensor.boost_pressure_kpa").unit == "kPa"
    assert trace.signal("aero.drs_open").unit == ""


def test_queries(trace):
    assert trace.first_time("FuelCut", lambda v: v > 0) == 201 * 1_000_000 + 500_000
    assert trace.first_time("engine.speed_rpm", lambda v: v >= 1100) == 100_000_000
    assert trace.first_time("engine.speed_rpm", lambda v: v > 1e9) is None
    assert trace.first_time("engine.speed_rpm", lambda v: v >= 1000,
                            since_ns=50_000_000) == 50_000_000
    f = trace.frames("EcuStatus")
    assert len(f) == 30 and f.data.shape == (30, 64) and (f.dlc == 5).all()
    assert (f.sender == 1).all() and (f.id == 0x110).all()
    assert len(trace.frames(0x90)) == 300
    assert trace.events() == [(0, "step", "start"), (300_000_000, "verdict", "pass")]
    assert trace.end_ns == 300_000_000
    names = trace.names()
    assert "EngineSpeed" in names and "engine.speed_rpm" in names
    assert trace.has("PlantFast.Lambda") and not trace.has("Lamda")
    assert trace.choices("Gear") == {} and trace.choices("engine.speed_rpm") == {}


def test_unknown_names_suggest(trace):
    with pytest.raises(UnknownSignalError) as err:
        trace.signal("BoostPresure")
    assert isinstance(err.value, KeyError)
    assert err.value.suggestion == "BoostPressure"
    assert "BoostPressure" in str(err.value)
    with pytest.raises(KeyError, match="engine.speed_rpm"):
        trace.signal("engine.sped_rpm")
    with pytest.raises(KeyError):
        trace.frames("PlantFsat")


def test_queries_while_running_then_closed(db, filler):
    tr = Trace(db, quantities=QUANTITIES, chunk_frames=1000)
    filler(tr, db, steps=5)
    assert len(tr.signal("EngineSpeed")) == 5        # buffered rows are visible
    filler(tr, db, steps=5)
    assert len(tr.signal("EngineSpeed")) == 10       # cache invalidated by new frames
    tr.close()
    with pytest.raises(TraceError):
        tr.add_frame(1, 0, 0x90, b"\0" * 8, 0)
    with pytest.raises(TraceError):
        tr.add_sample(1, [0.0] * 4)
    assert len(tr.signal("engine.speed_rpm")) == 10


def test_sample_width_is_checked(db):
    tr = Trace(db, quantities=QUANTITIES)
    with pytest.raises(TraceError, match="expected 4"):
        tr.add_sample(0, [1.0, 2.0])


def test_error_fd_and_short_frames(db):
    tr = Trace(db, quantities=(), chunk_frames=3)
    pf = db.get_message_by_name("PlantFast")
    payload = pf.encode({"PlantFast_CRC": 0, "PlantFast_Counter": 1, "EngineSpeed": 3000,
                         "ManifoldPressure": 90, "BoostPressure": 95, "Lambda": 1,
                         "KnockIntensity": 0})
    tr.add_frame(1000, 0, 0x90, payload, 0)
    tr.add_frame(2000, 1000, 0x90, payload[:4], 0)           # truncated by a fault
    tr.add_frame(3000, 2000, 0x0, b"", 2, flags=FLAG_ERROR)
    tr.add_frame(4000, 3000, 0x123, bytes(range(64)), 2, flags=FLAG_FD)
    tr.add_frame(5000, 4000, 0x90, bytearray(payload), 0)
    speed = tr.signal("EngineSpeed")
    np.testing.assert_array_equal(speed.t_ns, [1000, 2000, 5000])   # bits 12..25 in 4 bytes
    lam = tr.signal("Lambda")
    np.testing.assert_array_equal(lam.t_ns, [1000, 5000])
    fd = tr.frames(0x123)
    assert fd.dlc[0] == 64 and fd.data[0].tobytes() == bytes(range(64))
    assert tr.frames(0x90).data[1, 4:].tolist() == [0] * 60


def test_streaming_keeps_memory_bounded(db, tmp_path):
    """Memory held by the trace does not grow with the run length when spooling."""
    q = tuple(f"q{i}_kpa" for i in range(60))
    tr = Trace(db, quantities=q, spool_dir=tmp_path / "spool", chunk_frames=512,
               chunk_samples=256)
    row = [1.5] * 60
    payload = bytes(8)
    tracemalloc.start()
    try:
        peaks = []
        for block in range(4):
            for k in range(block * 5000, (block + 1) * 5000):
                t = k * 1_000_000
                tr.add_frame(t + 250_000, t, 0x90, payload, 0)
                tr.add_frame(t + 500_000, t + 300_000, 0x80, payload[:5], 1)
                tr.add_sample(t, row)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.reset_peak()
            assert tr.memory_bytes() < 1_000_000
    finally:
        tracemalloc.stop()
    # 20,000 steps in memory would be 40,000 x 31 + 20,000 x 488 bytes (~11 MB).
    assert max(peaks) < 3_000_000, peaks
    assert peaks[-1] < 2 * peaks[0] + 500_000, peaks
    tr.close()
    assert len(tr.signal("q59_kpa")) == 20_000
    assert tr.n_frames == 40_000


def test_save_and_load_round_trip(db, tmp_path, filler):
    tr = Trace(db, quantities=QUANTITIES, chunk_frames=50, chunk_samples=40)
    filler(tr, db)
    before = {n: tr.signal(n).values.copy() for n in ("EngineSpeed", "exhaust.egt_c")}
    written = tr.save(tmp_path / "run", formats=())
    assert written["native"].name == "trace.json"
    back = Trace.load(tmp_path / "run")
    for name, values in before.items():
        np.testing.assert_array_equal(back.signal(name).values, values)
    assert back.events() == tr.events() and back.end_ns == tr.end_ns
    assert back.nodes == ("PLANT", "ECU", "BENCH") and back.quantities == QUANTITIES
    with pytest.raises(TraceError):
        back.add_frame(0, 0, 1, b"", 0)


def test_spool_dir_becomes_native_trace(db, tmp_path, filler):
    spool = tmp_path / "spool"
    with Trace(db, quantities=QUANTITIES, spool_dir=spool, chunk_frames=64) as tr:
        filler(tr, db)
        assert not (spool / "trace.json").exists()
    assert not list(spool.glob("*.partial*"))
    back = Trace.load(spool)
    np.testing.assert_array_equal(back.signal("BoostPressure").values,
                                  tr.signal("BoostPressure").values)


def test_load_refuses_incomplete(tmp_path):
    with pytest.raises(TraceError, match="not a complete trace"):
        Trace.load(tmp_path)
