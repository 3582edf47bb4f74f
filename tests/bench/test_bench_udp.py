"""Two processes over udp_multicast on loopback: the plant node here, `hil ecu` in a child.

Function only: frames flow both ways, the loop closes and stays stable, python-can's
Logger records the bench and cantools decodes the recording, the ECU emulator stops
cleanly on SIGTERM with counters and a trace, replay reproduces the ECU's outputs, and a
safety scenario with loose bounds gets the verdicts it gets in SIL. Never a timing bound.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import can
import cantools
import numpy as np

from hil.bench.preflight import is_inconclusive
from hil.bench.session import reach_known_state
from hil.bench.wall import WallBench
from hil.run.runner import load, run_scenario
from hil.wire.flags import FLAG_RX

REPO = Path(__file__).resolve().parents[2]
#: As tests/bench/conftest.py opens every bus: TTL 0, never onto a wire. (Not imported
#: from the conftest: another test folder's conftest may be first on sys.path.)
UDP_KW = {"interface": "udp_multicast", "fd": False, "hop_limit": 0}


def test_plant_node_and_hil_ecu_close_the_loop_and_python_can_records_it(
        udp_rig, ecu_process, tmp_path):
    ecu = ecu_process()
    group, port = udp_rig.bus["channel"], udp_rig.bus["port"]
    # python-can's own recorder on the same bus, as `python -m can.logger` would run it.
    listener_bus = can.Bus(channel=group, port=port, **UDP_KW)
    recording = tmp_path / "recorded.asc"
    logger = can.Logger(str(recording))
    notifier = can.Notifier(listener_bus, [logger], timeout=0.05)
    bench = WallBench(udp_rig)
    try:
        bench.plant.set_driver_mode("dyno")
        bench.plant.inputs["dyno.speed_rpm"] = 3000.0
        bench.plant.inputs["driver.throttle_pct"] = 30.0
        bench.run_for(2.0)
    finally:
        bench.close()
        notifier.stop()
        logger.stop()
        listener_bus.shutdown()
    code = ecu.stop()

    # Frames flowed both ways and the actuator frames reached the plant. (Counts are a
    # function check, not a pacing one: a loaded machine runs fewer 1 ms steps in 2 s.)
    assert bench.bus.frames_sent > 200
    assert bench.bus.frames_received > 200
    assert bench.plant_node.frames_applied > 200
    assert bench.plant_node.frames_rejected == 0
    # The loop is stable: the dyno holds speed, lambda is a lambda, fuel is being injected.
    trace = bench.trace
    late = trace.signal("EngineSpeed").t_ns > 1_500_000_000
    rpm = trace.signal("EngineSpeed").values[late]
    assert rpm.size > 100 and np.all(np.abs(rpm - 3000) < 300)
    lam = trace.signal("Lambda").values[trace.signal("Lambda").t_ns > 1_500_000_000]
    assert lam.size > 100 and np.all(np.isfinite(lam)) and np.all((lam > 0.5) & (lam < 8))
    fuel = trace.signal("FuelMass")
    assert fuel.values[fuel.t_ns > 300_000_000].max() > 1.0  # the ECU fuels the engine
    for name in ("PlantFast", "EcuFast"):  # both directions still flow at the end
        assert np.count_nonzero(trace.frames(name).t_end_ns > 1_500_000_000) > 100

    # hil ecu stopped cleanly on SIGTERM, printed its counters and flushed its trace.
    assert code == 0, ecu.stderr
    assert "frames sent" in ecu.stdout and "task fast" in ecu.stdout and "pacing" in ecu.stdout
    ecu_trace = tmp_path / "ecu" / "ecu.blf"
    assert ecu_trace.exists() and ecu_trace.stat().st_size > 0

    # python-can's Logger recorded the bench; cantools decodes every frame of it.
    db = cantools.database.load_file(str(REPO / "dbc" / "ntec5.dbc"))
    ids = {m.frame_id: m.name for m in db.messages}
    seen: dict[str, int] = {}
    with can.LogReader(str(recording)) as reader:
        for msg in reader:
            if msg.arbitration_id not in ids:
                continue
            decoded = db.decode_message(msg.arbitration_id, msg.data)
            assert decoded
            seen[ids[msg.arbitration_id]] = seen.get(ids[msg.arbitration_id], 0) + 1
    # A logger on a loaded machine may miss datagrams (its socket buffer overflows while it
    # waits for a CPU): what is asserted is that it records both sides and they decode.
    assert {"PlantFast", "EcuFast", "EcuStatus"} <= set(seen), seen

    # Back-to-back, exact by construction: what the ECU saw is what the bench sent, and
    # what the bench received is what the ECU sent -- every frame, its bytes, its order.
    def payloads(frames, rx):
        keep = (np.asarray(frames.flags) & FLAG_RX) != 0 if rx else \
            (np.asarray(frames.flags) & FLAG_RX) == 0
        data, dlc = np.asarray(frames.data)[keep], np.asarray(frames.dlc)[keep]
        return [bytes(d[:n]) for d, n in zip(data, dlc, strict=True)]

    ecu_seen: dict[int, list[bytes]] = {}
    ecu_sent: dict[int, list[bytes]] = {}
    with can.LogReader(str(ecu_trace)) as reader:
        for msg in reader:
            (ecu_seen if msg.is_rx else ecu_sent).setdefault(msg.arbitration_id, []).append(
                bytes(msg.data))
    for name in ("PlantFast", "PlantSlow"):
        frame_id = db.get_message_by_name(name).frame_id
        assert ecu_seen[frame_id] == payloads(trace.frames(name), rx=False), name
    for name in ("EcuFast", "EcuStatus"):
        frame_id = db.get_message_by_name(name).frame_id
        bench_got = payloads(trace.frames(name), rx=True)
        # The ECU ran before and after the bench: what the bench received is one stretch.
        sent = ecu_sent[frame_id]
        start = next(i for i in range(len(sent)) if sent[i:i + len(bench_got)] == bench_got)
        assert sent[start:start + len(bench_got)] == bench_got, name


def _loose(rig, tmp_path):
    """The rig as the test's hil ecu runs it: its loose message timeouts (so the bench knows
    what the ECU's supervision tolerates), and a preflight judging function, not pacing."""
    rig.ecu_config = tmp_path / "ecu_loose_timeouts.yaml"
    rig.preflight["cycle_tolerance"] = 0.9    # the cycles exist; their jitter is benchmarks'
    return rig


def test_safety_scenario_verdicts_match_sil(udp_rig, ecu_process, tmp_path):
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    sil = run_scenario(scenario, rig=REPO / "rigs" / "sil.yaml", plots=False)
    ecu = ecu_process()
    try:
        wall = run_scenario(scenario, rig=_loose(udp_rig, tmp_path), report_dir=tmp_path,
                            plots=False, formats=("blf", "asc"))
    finally:
        ecu.stop()
    assert sil.passed, sil.failure_text()
    if wall.error_inconclusive is not None:
        # The rig said it cannot judge (its self-test could not resolve the 50 ms bound on
        # this machine's scheduling): INCONCLUSIVE with the reason, no verdict, never FAIL.
        assert wall.status == "inconclusive" and not wall.verdicts
        assert wall.error_inconclusive.startswith("preflight self-test: ")
        return
    assert wall.error is None, wall.error
    assert wall.figures["preflight"] and wall.figures["pacing"]["events"] > 1000
    assert wall.figures["session"].startswith("reset: command: reset request EcuResetRequest")
    # The rig vouches for a verdict or says why not (a stall, its pacing): every verdict it
    # vouches for is SIL's; none is a FAIL the ECU did not cause.
    for s, w in zip(sil.verdicts, wall.verdicts, strict=True):
        if not is_inconclusive(w):
            assert w.passed == s.passed, f"SIL: {s}\nwall: {w}"
    # Timing verdicts name the timestamp source they were judged on.
    for w in wall.verdicts:
        if w.expectation.kind in ("latency", "eventually"):
            assert "timestamps:" in w.message
    assert wall.status in ("pass", "inconclusive")
    assert (tmp_path / "overboost_loose_bounds" / "trace.blf").exists()


def test_an_ecu_in_limp_is_refused_without_reset_and_recovered_by_the_reset(
        udp_rig, ecu_process, tmp_path):
    ecu = ecu_process()
    rig = _loose(udp_rig, tmp_path)
    # The bench runs, then stops: the ECU's supervision latches the lost sensor frames.
    bench = WallBench(rig)
    try:
        bench.run_for(0.5)
    finally:
        bench.close()
    none = dataclasses.replace(rig, session=dataclasses.replace(rig.session, reset="none",
                                                                request=None))
    # Its supervision latches once the frames are missing for its timeout; until then its
    # status frames may still show NORMAL: ask until they do not (bounded, not timed).
    deadline = time.monotonic() + 30
    while (refused := reach_known_state(none, bench.db, bench.codec)).ok \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not refused.ok
    assert refused.detail.startswith("ECU not in a known state (reset: none")
    assert "FaultCodes" in refused.detail and "EngineMode 0 (NORMAL)" in refused.detail
    # A scenario on that rig is an error that says so (never a verdict on a latched ECU).
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    result = run_scenario(scenario, rig=none, plots=False)
    assert result.status == "fail" and "ECU not in a known state" in (result.error or "")
    # The reset command brings it back: NORMAL, no latched fault, before t=0.
    reset = reach_known_state(rig, bench.db, bench.codec)
    assert reset.ok, reset.detail
    assert "reset request EcuResetRequest sent" in reset.detail
    assert ecu.stop() == 0


def test_restart_process_starts_hil_ecu_for_each_scenario_and_stops_it(
        udp_rig, tmp_path, monkeypatch):
    """session: {restart: process}: no ECU is running; the bench starts `hil ecu` on the
    rig's bus for every scenario itself (before its preflight) and stops it afterwards."""
    from hil.bench import session as session_module
    from hil.config.session import SessionPolicy

    started: list[session_module.EcuProcess] = []

    class Recorded(session_module.EcuProcess):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(session_module, "EcuProcess", Recorded)
    # The loose message timeouts of the conftest's hil ecu (not imported: see UDP_KW).
    text = (REPO / "controllers" / "ecu.yaml").read_text()
    (tmp_path / "ecu_loose_timeouts.yaml").write_text(
        text.replace("timeout_cycles: 3", "timeout_cycles: 50").replace(
            "calibration: calibration/", f"calibration: {REPO / 'controllers' / 'calibration'}/"))
    rig = dataclasses.replace(_loose(udp_rig, tmp_path), session=SessionPolicy(
        restart="process", ready=dict(udp_rig.session.ready),
        timeout_ns=udp_rig.session.timeout_ns, supervision="first_reception"))
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    results = []
    for _ in range(2):
        before = len(started)
        results.append(run_scenario(scenario, rig=rig, plots=False))
        # One for the preflight's listen and, once that passed, a fresh one for the run.
        assert len(started) - before == (2 if results[-1].error is None else 1)
    for proc in started:
        args = proc.proc.args
        assert args[1:4] == ["-m", "hil", "ecu"]
        assert args[args.index("--channel") + 1] == udp_rig.bus["channel"]
        assert args[args.index("--port") + 1] == str(udp_rig.bus["port"])
        assert args[args.index("--ecu-config") + 1] == str(rig.ecu_config)
        assert proc.proc.returncode == 0           # stopped (SIGTERM), cleanly
    for result in results:
        # It was the ECU of the run: the known state was reached on it, and the verdicts
        # are the rig's (pass, or INCONCLUSIVE naming why) -- never a FAIL.
        assert result.status in ("pass", "inconclusive"), result.failure_text()
        if result.error_inconclusive is None:
            assert result.figures["session"].startswith(
                "restart: process: hil ecu started afresh for this scenario's run; ECU showed "
                "EngineMode 0 (NORMAL)")
