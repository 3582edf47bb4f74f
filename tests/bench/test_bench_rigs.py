"""Rigs that cannot run here fail in one line naming the fix; INCONCLUSIVE verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.bench.preflight import InconclusiveVerdict, qualify_verdicts, resolvable
from hil.cli import main
from hil.report.html import render
from hil.run.runner import ScenarioResult
from hil.scenario.expect import Verdict

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("rig, needle", [
    ("vcan.yaml", "ip link add dev vcan0 type vcan"),
    ("pcan.yaml", "PCAN-Basic"),
])
def test_missing_interface_is_one_line_naming_what_to_install(rig, needle, capsys):
    import can

    from hil.config.rig import load_rig

    try:  # where the interface does exist (a machine with vcan0), there is nothing to test
        can.Bus(**load_rig(REPO / "rigs" / rig).bus).shutdown()
    except Exception:  # noqa: BLE001 - not available: the case under test
        pass
    else:
        pytest.skip(f"{rig}: the interface exists on this machine")
    code = main(["preflight", "--rig", str(REPO / "rigs" / rig)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert needle in err and "cannot open the bus" in err


def test_preflight_of_the_sil_rig_is_a_usage_error(capsys):
    assert main(["preflight", "--rig", str(REPO / "rigs" / "sil.yaml")]) == 2
    assert "wall-clock rigs" in capsys.readouterr().err


def test_preflight_fails_with_no_ecu_on_the_bus(udp_group, capsys):
    group, port = udp_group
    code = main(["preflight", "--rig", str(REPO / "rigs" / "udp.yaml"), "--channel", group,
                 "--port", str(port), "--seconds", "0.5", "--no-realtime"])
    out = capsys.readouterr().out
    assert code == 1
    assert "traffic" in out and "FAIL" in out and "self-test pacing" in out


def test_timing_verdicts_are_inconclusive_on_a_rig_that_cannot_hold_them():
    from hil.scenario.model import Vocabulary, loads_scenario
    from hil.wire.dbc import load_dbc

    vocab = Vocabulary.from_dbc(load_dbc(REPO / "dbc" / "ntec5.dbc"))
    scenario = loads_scenario(
        "name: t\ndescription: a timing check here\nduration: 1 s\nexpect:\n"
        "  - latency: {from: 'BoostPressure > 240', to: 'FuelCut == 1', max: 1 ms}\n"
        "  - latency: {from: 'BoostPressure > 240', to: 'FuelCut == 1', max: 100 ms}\n"
        "  - never: 'BoostPressure > 280'\n", vocab, "t.yaml")
    lat1, lat100, never = scenario.expect
    verdicts = [Verdict(True, lat1, "latency ok", t_ns=5, observed=400_000.0,
                        bound=1_000_000.0, margin=600_000.0, margin_unit="ns",
                        margin_scale=1_000_000.0),
                Verdict(True, lat100, "latency ok"),
                Verdict(True, never, "never ok")]
    jittery = {"p50_us": 90.0, "p99_us": 480.0, "max_us": 3000.0, "overruns": 4,
               "policy": "no SCHED_FIFO"}
    out = qualify_verdicts(verdicts, jittery, timestamps="interface receive timestamps",
                           external_ecu=True)
    assert isinstance(out[0], InconclusiveVerdict) and not out[0].passed
    assert out[0].measured_passed and "cannot hold a 1 ms" in out[0].reason
    assert "INCONCLUSIVE" in str(out[0])
    # the measured figures and the margin survive (the margin report still ranks it)
    assert (out[0].t_ns, out[0].observed, out[0].margin, out[0].margin_unit,
            out[0].margin_scale) == (5, 400_000.0, 600_000.0, "ns", 1_000_000.0)
    assert out[1].passed and "timestamps: interface" in out[1].message
    assert out[2] is verdicts[2]
    steady = {"p50_us": 0.1, "p99_us": 0.3, "max_us": 150.0, "overruns": 0, "policy": "fifo"}
    assert resolvable(1_000_000, steady) is None
    result = ScenarioResult(scenario, out, [], None, 1_000_000_000, 1.0)
    assert result.status == "inconclusive" and not result.passed
    summary = result.summary()
    assert summary["status"] == "inconclusive"
    assert summary["verdicts"][0]["status"] == "inconclusive"
    assert "INCONCLUSIVE" in render([summary])
    failed = ScenarioResult(scenario, [*out, Verdict(False, never, "boost over")], [], None,
                            1, 1.0)
    assert failed.status == "fail"


def test_the_udp_rig_cannot_send_off_the_machine(private_network, udp_group):
    """TTL 0 on every socket of the rig, and (as root) no interface but lo at all."""
    import socket

    import can

    from hil.bus.isolation import interfaces, isolated
    from hil.config.rig import load_rig

    rig = load_rig(REPO / "rigs" / "udp.yaml")
    assert rig.bus["hop_limit"] == 0
    rig.bus["channel"], rig.bus["port"] = udp_group
    bus = can.Bus(**rig.bus)
    try:
        sock = bus._multicast._socket  # python-can's one send/receive socket
        ttl = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)
    finally:
        bus.shutdown()
    assert ttl == 0
    entered, why = private_network
    if entered:
        assert isolated(), f"{why}, yet this process sees {interfaces()}"
