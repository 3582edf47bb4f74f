"""Exact back-to-back: a SIL run's recording, replayed open-loop into a fresh ECU runtime,
is reproduced sample for sample; one corrupted EngineMode or FuelCut sample fails and is
named; the recording's scheduling jitter cannot make it fail; MF4 replays like BLF.

The recording is made in SIL (simulated time, deterministic): the same ECU runtime and
controllers as `hil ecu`, so this is the gate test of the comparison itself. The udp rig
measurement (20 replays of fresh `hil ecu` recordings) is in docs/bench.md.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import can
import cantools
import numpy as np
import pytest

from hil.cli import main as hil_main
from hil.config.rig import load_rig
from hil.run.replay import replay, signal_rule
from hil.run.runner import load, run_scenario

REPO = Path(__file__).resolve().parents[2]
DB = cantools.database.load_file(str(REPO / "dbc" / "ntec5.dbc"))
RIG = load_rig(REPO / "rigs" / "sil.yaml")


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """egt_overtemp in SIL: EngineMode NORMAL -> DETUNED -> LIMP, FaultCodes latched."""
    out = tmp_path_factory.mktemp("sil")
    result = run_scenario(load(REPO / "scenarios" / "safety" / "egt_overtemp.yaml"),
                          report_dir=out, formats=("blf", "mf4"), plots=False)
    assert result.passed, result.failure_text()
    return out / "egt_overtemp"


def _frames(path: Path) -> list[can.Message]:
    return list(can.LogReader(str(path)))


def _write(frames: list[can.Message], path: Path) -> Path:
    with can.BLFWriter(str(path)) as writer:
        for m in sorted(frames, key=lambda m: m.timestamp):
            writer.on_message_received(m)
    return path


def _corrupt(frames: list[can.Message], message: str, signal: str, new: int,
             at_s: float) -> float:
    """Change ``signal`` in the frame of ``message`` nearest ``at_s`` (its neighbours keep
    the old value); returns that frame's time."""
    msg = DB.get_message_by_name(message)
    mine = [m for m in frames if m.arbitration_id == msg.frame_id]
    t0 = frames[0].timestamp
    k = min(range(len(mine)), key=lambda i: abs(mine[i].timestamp - t0 - at_s))
    values = [msg.decode(m.data, decode_choices=False)[signal] for m in mine[k - 20:k + 21]]
    assert len(set(values)) == 1 and values[0] != new, "pick a steady stretch"
    decoded = msg.decode(mine[k].data, decode_choices=False)
    decoded[signal] = new
    mine[k].data = bytearray(msg.encode(decoded, strict=False))
    return mine[k].timestamp - t0


def test_tolerances_come_from_the_dbc():
    sig = {s.name: s for m in DB.messages for s in m.signals}
    assert signal_rule(sig["FuelCut"]).kind == "exact"          # flag
    assert signal_rule(sig["EngineMode"]).why == "value table"
    assert signal_rule(sig["FaultCodes"]).kind == "exact"       # bit field / integer
    assert signal_rule(sig["WastegateCmd"]).kind == "exact"     # integer, scale 1
    rule = signal_rule(sig["FuelMass"])
    assert rule.kind == "lsb" and rule.tolerance == pytest.approx(0.1)   # one LSB
    assert signal_rule(sig["FuelMass"], 0.5).tolerance == 0.5


def test_the_unmodified_recording_is_reproduced_exactly(recording, tmp_path):
    report = replay(recording / "trace.blf", RIG, skip_s=0, out_dir=tmp_path)
    assert report.passed, report.table()
    by_name = {s.signal: s for s in report.signals}
    assert {"FuelCut", "EngineMode", "FaultCodes", "FuelMass"} <= set(by_name)
    assert by_name["FuelCut"].compared == 8000 and by_name["EngineMode"].compared == 800
    assert all(s.mismatched == 0 and not s.intervals for s in report.signals)
    text = report.table()
    assert "inf" not in text and "nan" not in text.lower()
    assert "exact (flag)" in text and "(1 LSB)" in text
    saved = json.loads((tmp_path / "replay.json").read_text())
    assert saved["passed"] is True
    assert len(list(can.BLFReader(str(tmp_path / "replayed_ecu.blf")))) == report.outputs_replayed


@pytest.mark.parametrize("message,signal,new,at_s", [
    ("EcuStatus", "EngineMode", 3, 3.0),    # NORMAL -> SHUTDOWN in one frame
    ("EcuFast", "FuelCut", 1, 2.5),         # one cut that never happened
])
def test_one_corrupted_sample_fails_naming_its_interval(recording, tmp_path, message,
                                                        signal, new, at_s):
    frames = _frames(recording / "trace.blf")
    when = _corrupt(frames, message, signal, new, at_s)
    report = replay(_write(frames, tmp_path / "corrupt.blf"), RIG, skip_s=0)
    assert not report.passed
    failed = [s for s in report.signals if not s.passed]
    assert [(s.message, s.signal) for s in failed] == [(message, signal)], report.table()
    (interval,) = failed[0].intervals
    assert interval.samples == 1 and failed[0].mismatched == 1
    assert interval.from_s == interval.to_s
    assert abs(interval.from_s - when) < 1e-3
    assert interval.expected.startswith(str(new))
    assert str(new) not in interval.got.split()[0]
    assert f"t={interval.from_s:.6f} s: expected" in report.table()


def test_jitter_of_the_recording_cannot_make_it_fail(recording, tmp_path):
    """Every ECU frame stamped up to half its trigger period late (a cyclic one up to
    10 % of its cycle: 1 ms on EcuStatus, 10 ms on EcuDiag), at random: the same outputs,
    answered to the same triggers, in the same schedule slots, still reproduced."""
    rnd = random.Random(7)
    ecu_ids = {m.frame_id: m for m in DB.messages if "ECU" in m.senders}
    frames = _frames(recording / "trace.blf")
    for m in frames:
        if m.arbitration_id in ecu_ids:
            cycle_s = (ecu_ids[m.arbitration_id].cycle_time or 1) / 1000
            m.timestamp += rnd.uniform(0, 0.5e-3 if cycle_s <= 1e-3 else 0.1 * cycle_s)
    report = replay(_write(frames, tmp_path / "jittered.blf"), RIG, skip_s=0)
    assert report.passed, report.table()


def test_an_mf4_recording_replays_like_the_blf(recording):
    blf = replay(recording / "trace.blf", RIG, skip_s=0)
    mf4 = replay(recording / "trace.mf4", RIG, skip_s=0)
    assert mf4.passed, mf4.table()
    assert (mf4.frames_in, mf4.outputs_recorded) == (blf.frames_in, blf.outputs_recorded)
    assert "MF4 bus logging" in mf4.timestamp_source


def test_cli_prints_progress_and_the_interval_and_exits_1(recording, tmp_path, capsys):
    frames = _frames(recording / "trace.blf")
    _corrupt(frames, "EcuStatus", "EngineMode", 3, 3.0)
    log = _write(frames, tmp_path / "corrupt.blf")
    code = hil_main(["replay", str(log), "--rig", str(REPO / "rigs" / "sil.yaml"),
                     "--skip", "0", "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "hil replay: read" in err and "replayed" in err
    assert "EcuStatus.EngineMode" in out and "FAIL" in out and "expected 3 (SHUTDOWN)" in out
    assert (tmp_path / "out" / "replay.json").exists()


@pytest.mark.parametrize("argv,needle", [
    (["--tolerance", "FuelMass"], "expected SIGNAL=NUMBER"),
    (["--tolerance", "NoSuchSignal=1"], "no such signal"),
    (["--window", "-1"], "--window"),
    (["--skip", "-1"], "--skip"),
])
def test_bad_options_are_one_line_and_exit_2(recording, tmp_path, capsys, argv, needle):
    code = hil_main(["replay", str(recording / "trace.blf"), "--rig",
                     str(REPO / "rigs" / "sil.yaml"), "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_a_file_that_is_no_log_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "notes.blf"
    bad.write_bytes(b"not a BLF file at all")
    code = hil_main(["replay", str(bad), "--rig", str(REPO / "rigs" / "sil.yaml"),
                     "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "notes.blf" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o" / "replay.json").exists()


def test_replayed_values_match_cantools_decoding(recording, tmp_path):
    """The replayed ECU frames written to replayed_ecu.blf decode to what the report
    compared (the report is not a view of a private decoder)."""
    replay(recording / "trace.blf", RIG, skip_s=0, out_dir=tmp_path)
    ef = DB.get_message_by_name("EcuFast")
    rec = [ef.decode(m.data)["FuelCut"] for m in _frames(recording / "trace.blf")
           if m.arbitration_id == ef.frame_id]
    rep = [ef.decode(m.data)["FuelCut"] for m in _frames(tmp_path / "replayed_ecu.blf")
           if m.arbitration_id == ef.frame_id]
    assert np.array_equal(rec, rep)


def test_a_log_on_hil_ecus_microsecond_grid_is_put_back_on_it():
    """hil ecu's trace is its clock's timeline on a 1 us grid; python-can's float Unix
    timestamps move each time by up to ~120 ns (238 ns apart at today's Unix time): the
    replay restores the exact times, and leaves any other log as it is."""
    from hil.run.replay import _on_grid, _snapper

    rng = np.random.default_rng(7)
    exact = np.cumsum(rng.integers(1, 2000, 5000)) * 1000          # whole microseconds
    read = exact + rng.integers(-250, 251, exact.size)               # after the float trip
    assert _on_grid(read)
    assert np.array_equal(_snapper(True)(read), exact)
    logger = exact + rng.integers(0, 1000, exact.size)               # a recorder's own ns
    assert not _on_grid(logger)
    assert np.array_equal(_snapper(False)(logger), logger)


def test_hil_ecus_clock_stamps_what_it_handles_on_its_microsecond_grid():
    from hil.bench.clock import WallClockEnvironment
    from hil.bench.emulator import HANDLING_RESOLUTION_NS

    env = WallClockEnvironment(resolution_ns=HANDLING_RESOLUTION_NS)
    env.timeout(10**12)            # a far event: now may advance up to the wall time
    env.reset_origin()
    seen = set()
    for _ in range(200):
        env.advance_to_wall()
        seen.add(env.now % HANDLING_RESOLUTION_NS)
    assert seen == {0} and env.now > 0
