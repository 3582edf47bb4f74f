"""Fixtures for the wall-clock bench tests: a private udp_multicast group per test, the
`hil ecu` child process (always reaped), and a skip when multicast on loopback is missing.

Nothing leaves the machine: the test process enters a private network namespace with only
loopback when it can (root), so it and the `hil ecu` processes it starts have no other
interface; every bus is opened with hop_limit 0 (TTL 0) as well, the fallback elsewhere.

Only function is asserted (frames flow, the loop closes, verdicts, recordings decode,
replay reproduces); wall-clock figures belong in benchmarks/.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
#: Every udp_multicast bus a test opens: TTL 0, never onto a wire.
UDP_KW = {"interface": "udp_multicast", "fd": False, "hop_limit": 0}


@pytest.fixture(autouse=True, scope="session")
def private_network():
    """This test process (and the `hil ecu` it starts) in a namespace with only lo."""
    from hil.bus.isolation import enter_private_network

    return enter_private_network()


def _free_group() -> tuple[str, int]:
    rnd = random.Random(os.getpid() * 1_000_003 + time.perf_counter_ns())
    return f"239.74.{rnd.randrange(164, 250)}.{rnd.randrange(1, 250)}", rnd.randrange(40_000, 60_000)


@pytest.fixture
def udp_group() -> tuple[str, int]:
    """A multicast group and port no other test uses; skipped if loopback multicast fails."""
    can = pytest.importorskip("can")
    pytest.importorskip("msgpack", reason="python-can's udp_multicast needs msgpack")
    group, port = _free_group()
    try:
        a = can.Bus(channel=group, port=port, **UDP_KW)
        b = can.Bus(channel=group, port=port, **UDP_KW)
    except Exception as exc:  # noqa: BLE001 - any failure means: not available here
        pytest.skip(f"udp_multicast on loopback is unavailable here: {exc}")
    try:
        a.send(can.Message(arbitration_id=0x7F0, data=b"probe", is_extended_id=False))
        if b.recv(1.0) is None:
            pytest.skip("udp_multicast on loopback is unavailable here: a probe frame did "
                        "not arrive within 1 s (multicast not routed on lo?)")
    finally:
        a.shutdown()
        b.shutdown()
    return group, port


@pytest.fixture
def udp_rig(udp_group):
    """rigs/udp.yaml on the test's private group."""
    from hil.config.rig import load_rig

    rig = load_rig(REPO / "rigs" / "udp.yaml")
    rig.bus["channel"], rig.bus["port"] = udp_group
    assert rig.bus["hop_limit"] == 0, "the udp rig must never send off the machine"
    return rig


def loose_ecu_config() -> str:
    """controllers/ecu.yaml with a 50 ms sensor timeout instead of 3 ms.

    The scenarios here have loose bounds so their verdicts do not depend on the machine's
    timing; the ECU's message supervision gets the same treatment, so a loaded CI machine
    that stalls the bench for a few ms does not latch a (correct) lost-frame fault.
    """
    text = (REPO / "controllers" / "ecu.yaml").read_text()
    text = text.replace("timeout_cycles: 3", "timeout_cycles: 50")
    return text.replace("calibration: calibration/",
                        f"calibration: {REPO / 'controllers' / 'calibration'}/")


class EcuProcess:
    """`hil ecu` in a child process; stop() is SIGTERM, then SIGKILL after a timeout."""

    def __init__(self, group: str, port: int, trace_dir: Path, *extra: str) -> None:
        ecu_yaml = trace_dir.parent / "ecu_loose_timeouts.yaml"
        ecu_yaml.write_text(loose_ecu_config())
        cmd = [PYTHON, "-m", "hil", "ecu", "--rig", str(REPO / "rigs" / "udp.yaml"),
               "--ecu-config", str(ecu_yaml),
               "--channel", group, "--port", str(port), "--trace-dir", str(trace_dir),
               *extra]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.stdout = self.stderr = ""
        # Wait (bounded) for the "running" line so the ECU is on the bus before the bench.
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stderr.readline()
            if "running" in line:
                break
        if self.proc.poll() is not None or "running" not in line:
            self.kill()
            raise RuntimeError(f"hil ecu did not start: {line}{self.stderr}")

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.stdout += out
        self.stderr += err
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def ecu_process(udp_group, tmp_path):
    """Start `hil ecu` on the test's group; always reaped, also when the test fails."""
    started: list[EcuProcess] = []

    def start(*extra: str) -> EcuProcess:
        proc = EcuProcess(*udp_group, tmp_path / "ecu", *extra)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.kill()
