"""ECU sessions and rig fitness without a live bus: the rig's session: policy, the ECU
runtime's reset and wake-on-bus supervision (on the simulated bus, in simulated time), and
stall-qualified verdicts. The live udp tests are in test_bench_udp.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.bench import open_bench
from hil.bench.fitness import ecu_stall_tolerance_ns, qualify_stalls
from hil.bench.preflight import is_inconclusive
from hil.config.rig import load_rig
from hil.errors import ConfigError
from hil.run.runner import load
from hil.scenario.expect import Verdict
from hil.wire.dbc import load_dbc
from hil.wire.e2e import E2ETx

REPO = Path(__file__).resolve().parents[2]
UDP = (REPO / "rigs" / "udp.yaml").read_text()


def _rig(tmp_path: Path, session: str) -> Path:
    text = UDP.replace("../", f"{REPO}/")
    start = text.index("session:")
    end = text.index("preflight:")
    path = tmp_path / "rig.yaml"
    path.write_text(text[:start] + session + text[end:])
    return path


def test_the_udp_rig_declares_a_reset_command_session():
    session = load_rig(REPO / "rigs" / "udp.yaml").session
    assert session is not None and session.how == "reset: command"
    assert session.request == "EcuResetRequest"
    assert session.ready == {"EngineMode": 0.0, "FaultCodes": 0.0}
    assert session.supervision == "first_reception"


@pytest.mark.parametrize("session, message", [
    ("session: {reset: reboot, ready: {EngineMode: 0}}\n", "expected one of command, none"),
    ("session: {reset: command, ready: {EngineMode: 0}}\n", "needs request:"),
    ("session: {reset: none, restart: process, ready: {EngineMode: 0}}\n", "exactly one of"),
    ("session: {reset: none}\n", "session.ready: expected"),
    ("session: {reset: none, ready: {EngineMode: x}}\n", "expected a number"),
    ("session: {reset: none, ready: {EngineMode: 0}, timeout: 2 parsecs}\n", "session.timeout"),
    ("session: {reset: none, ready: {EngineMode: 0}, supervision: first}\n",
     "session.supervision"),
    ("session: {reset: none, ready: {EngineMode: 0}, wait: 1 s}\n", "wait"),
])
def test_a_bad_session_is_one_line_with_its_position(tmp_path, session, message):
    with pytest.raises(ConfigError) as info:
        load_rig(_rig(tmp_path, session))
    text = str(info.value)
    assert message in text and "\n" not in text
    assert text.startswith(str(tmp_path / "rig.yaml") + ":")


def test_session_signals_are_checked_against_the_dbc(tmp_path):
    from hil.bench.wall import WallBench

    rig = load_rig(_rig(tmp_path, "session: {reset: none, ready: {EngineMod: 0}}\n"))
    with pytest.raises(ConfigError, match="unknown DBC signal 'EngineMod'.*EngineMode"):
        WallBench(rig)   # refused before any bus is opened


def _reset_frame(db, codec) -> bytes:
    message = db.get_message_by_name("BenchSession")
    return E2ETx(codec.message("BenchSession"), 81).protect(
        {s.name: (1.0 if s.name == "EcuResetRequest" else 0.0) for s in message.signals})


def test_a_reset_request_reinitialises_the_ecu_runtime():
    bench = open_bench(REPO / "rigs" / "sil.yaml")
    ecu = bench.ecu
    from hil.nodes.ecu_config import load_calibration

    ecu.session(reset_request="EcuResetRequest",
                reload_calibration=lambda: load_calibration(ecu.config))
    adapted = ecu.calibration
    bench.operator.set("EmergencyStop", 1)
    bench.run_for(0.3)
    bench.operator.set("EmergencyStop", 0)
    bench.run_for(0.5)
    # Emergency stop latches (SHUTDOWN) until a fault reset or an ECU reset.
    assert ecu.signals["FaultCodes"] != 0 and ecu.signals["EngineMode"] == 3
    ecu._on_data(0x51, _reset_frame(bench.db, bench.codec))
    assert ecu.resets == 1 and ecu.signals["FaultCodes"] == 0
    bench.run_for(0.5)
    assert ecu.signals["FaultCodes"] == 0 and ecu.signals["EngineMode"] == 0
    # Learnt state goes too: the calibration is the power-on one again, not the adapted.
    assert ecu.calibration is not adapted
    # A second request is honoured too (its E2E state restarts with the runtime).
    ecu._on_data(0x51, _reset_frame(bench.db, bench.codec))
    assert ecu.resets == 2
    bench.close()


def test_an_ecu_that_supervises_from_the_first_reception_waits_for_the_bus():
    bench = open_bench(REPO / "rigs" / "sil.yaml")
    ecu = bench.ecu
    ecu.session(wake_on_bus=True)
    # Only the ECU runs (no plant, no operator): as hil ecu powered up before the bench.
    ecu.start()
    bench.env.run(until=2_000_000_000)
    assert all(t.runs == 0 for t in ecu.tasks)
    assert ecu.signals["EngineMode"] == 0 and ecu.signals["FaultCodes"] == 0
    assert ecu.frames_sent > 0          # its cyclic status frames still go out
    bench.close()


def test_without_wake_on_bus_a_lonely_ecu_latches_the_missing_frames():
    bench = open_bench(REPO / "rigs" / "sil.yaml")
    ecu = bench.ecu
    ecu.start()
    bench.env.run(until=2_000_000_000)
    assert ecu.signals["FaultCodes"] != 0 and ecu.signals["EngineMode"] == 2   # LIMP
    bench.close()


def _failed(expectation, t_ns):
    return Verdict(passed=False, expectation=expectation, message="failed", t_ns=t_ns)


def test_a_stall_beyond_the_ecu_tolerance_makes_later_failures_inconclusive():
    scenario = load(REPO / "tests" / "bench" / "overboost_loose.yaml")
    never, latency = scenario.expect[2], scenario.expect[0]
    rig = load_rig(REPO / "rigs" / "udp.yaml")
    tolerance = ecu_stall_tolerance_ns(rig, load_dbc(rig.dbc))
    assert tolerance == 2_000_000      # 3 cycles of the 1 ms PlantFast, less one cycle
    stalls = [(1_000_000_000, 5_000_000)]
    passed = Verdict(passed=True, expectation=never, message="held")
    out = qualify_stalls([_failed(never, 2_000_000_000), _failed(never, 500_000_000), passed],
                         stalls, tolerance_ns=tolerance, end_ns=5_000_000_000)
    assert is_inconclusive(out[0]) and not out[0].measured_passed
    assert "stalled 5 ms at 1.000 s" in out[0].reason and "2 ms" in out[0].reason
    assert out[1] is not None and not is_inconclusive(out[1])   # failed before the stall
    assert out[2].passed                                          # a pass stays a pass
    # A stall the supervision tolerates: still half of a 50 ms latency bound? no.
    small = qualify_stalls([_failed(never, 2_000_000_000), _failed(latency, 2_000_000_000)],
                           [(1_000_000_000, 1_500_000)], tolerance_ns=tolerance,
                           end_ns=5_000_000_000)
    assert not any(is_inconclusive(v) for v in small)
    # Without a known tolerance the timing bound's resolution still counts: 30 ms > 25 ms.
    timing = qualify_stalls([_failed(latency, None), _failed(never, None)],
                            [(1_000_000_000, 30_000_000)], tolerance_ns=None,
                            end_ns=5_000_000_000)
    assert is_inconclusive(timing[0]) and "half the 50 ms timing bound" in timing[0].reason
    assert not is_inconclusive(timing[1])
    # A stall inside a latency's window (after its cause, before cause + bound) counts.
    window = qualify_stalls([_failed(latency, 1_000_000_000)], [(1_020_000_000, 5_000_000)],
                            tolerance_ns=tolerance, end_ns=5_000_000_000)
    assert is_inconclusive(window[0]) and "at 1.020 s" in window[0].reason


def test_a_scenario_with_its_own_calibration_is_skipped_on_an_external_ecu():
    from hil.run.pytest_plugin import needs_other_rig

    lap = load(REPO / "scenarios" / "vehicle" / "race_car_lap.yaml")
    reason = needs_other_rig(lap, REPO / "rigs" / "udp.yaml")
    assert reason is not None and reason.startswith("needs calibration race_car")
    assert "runs road_car" in reason
    pull = load(REPO / "scenarios" / "vehicle" / "full_throttle_pull.yaml")   # road_car
    assert needs_other_rig(pull, REPO / "rigs" / "udp.yaml") is None
    assert needs_other_rig(lap, REPO / "rigs" / "sil.yaml") is None
