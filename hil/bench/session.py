"""ECU sessions: every wall-clock scenario starts from a known ECU state, and says how.

A rig's ``session:`` (:mod:`hil.config.session`) names the policy; the wall-clock bench
runs it as the last step of its preflight, right before t=0 (docs/bench.md "ECU
sessions"):

- ``reset: command``: one E2E-protected reset request (the rig's ``request`` signal, in a
  bench event message), then wait -- within ``timeout`` -- until the ECU's status frames
  sent after it show the rig's ``ready`` values (e.g. EngineMode NORMAL, FaultCodes 0).
  ``hil ecu`` honours the request by re-initialising its runtime
  (:meth:`hil.nodes.ecu.EcuRuntime.reset`).
- ``reset: none``: a real ECU the bench cannot reset: the run starts only if its status
  already shows ``ready``.
- ``restart: process``: the bench starts ``hil ecu`` for the scenario itself
  (:class:`EcuProcess`) and stops it afterwards; then the same wait for ``ready``.

The outcome is a sentence for the report (how the state was reached, or why not).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import can

from hil.bus.real import open_bus
from hil.config.rig import RigConfig
from hil.config.session import SessionPolicy
from hil.wire.codec import Codec
from hil.wire.dbc import e2e_data_id
from hil.wire.e2e import E2ETx


@dataclass(frozen=True)
class SessionOutcome:
    ok: bool
    detail: str


def _owner(db: Any, signal: str) -> Any:
    return next(m for m in db.messages if any(s.name == signal for s in m.signals))


def _describe(db: Any, name: str, value: float) -> str:
    sig = next(s for m in db.messages for s in m.signals if s.name == name)
    label = sig.choices.get(int(value)) if sig.choices and float(value).is_integer() else None
    return f"{name} {value:g}" + (f" ({label})" if label is not None else "")


def send_reset_request(bus: can.BusABC, db: Any, codec: Codec, signal: str) -> None:
    """One reset request frame: the request signal 1, the rest of its message at 0."""
    message = _owner(db, signal)
    values = {s.name: 0.0 for s in message.signals}
    values[signal] = 1.0
    mc = codec.message(message.name)
    data_id = e2e_data_id(message)
    data = E2ETx(mc, data_id).protect(values) if data_id is not None else mc.encode(values)
    bus.send(can.Message(arbitration_id=message.frame_id, data=data,
                         is_extended_id=message.is_extended_frame, check=False))


def wait_until_ready(bus: can.BusABC, db: Any, policy: SessionPolicy,
                     timeout_s: float) -> tuple[bool, dict[str, float], float]:
    """Read the bus until every ``ready`` signal was last seen at its ready value (in a
    frame received from now on) or ``timeout_s`` passed: (ready, last values, seconds)."""
    owners = {name: _owner(db, name) for name in policy.ready}
    by_id = {m.frame_id: m for m in owners.values()}
    last: dict[str, float] = {}
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < timeout_s:
        msg = bus.recv(min(0.05, timeout_s - elapsed))
        if msg is None or msg.arbitration_id not in by_id:
            continue
        try:
            decoded = by_id[msg.arbitration_id].decode(bytes(msg.data), decode_choices=False)
        except Exception:   # noqa: BLE001 - a corrupted frame says nothing about the state
            continue
        for name in policy.ready:
            if name in decoded:
                last[name] = float(decoded[name])
        if len(last) == len(policy.ready) and all(last[n] == v for n, v in policy.ready.items()):
            return True, last, time.monotonic() - t0
    return False, last, time.monotonic() - t0


def reach_known_state(rig: RigConfig, db: Any, codec: Codec) -> SessionOutcome:
    """Run the rig's session policy on a bus handle of its own (before t=0)."""
    policy = rig.session
    if policy is None:
        return SessionOutcome(True, "no session policy (rig has no session:): the ECU's "
                              "state at t=0 is whatever it was")
    timeout_s = policy.timeout_ns / 1e9
    wanted = ", ".join(_describe(db, n, v) for n, v in policy.ready.items())
    bus = open_bus(rig)
    try:
        if policy.reset == "command":
            assert policy.request is not None
            send_reset_request(bus, db, codec, policy.request)
        ready, last, took = wait_until_ready(bus, db, policy, timeout_s)
    finally:
        bus.shutdown()
    seen = ", ".join(_describe(db, n, v) for n, v in last.items()) or "no status frame"
    if ready:
        how = {"reset: command": f"reset request {policy.request} sent",
               "reset: none": "not reset (reset: none)",
               "restart: process": "hil ecu started afresh for this scenario's run"}[policy.how]
        return SessionOutcome(True, f"{policy.how}: {how}; ECU showed {wanted} after "
                              f"{took:.2f} s")
    if policy.reset == "none":
        return SessionOutcome(False, f"ECU not in a known state (reset: none, the bench cannot "
                              f"reset it): {seen}; the run needs {wanted}")
    return SessionOutcome(False, f"{policy.how}: the ECU did not show {wanted} within "
                          f"{timeout_s:g} s (last seen: {seen})")


class EcuProcess:
    """``hil ecu`` for one scenario (``session: {restart: process}``), on the rig's bus."""

    def __init__(self, rig: RigConfig, *, calibration: Any = None,
                 startup_s: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "hil", "ecu", "--rig", str(rig.path), "--trace", "none"]
        if calibration is not None:
            cmd += ["--calibration", str(calibration)]
        if rig.ecu_config is not None:
            cmd += ["--ecu-config", str(rig.ecu_config)]
        if rig.bus.get("channel") is not None:
            cmd += ["--channel", str(rig.bus["channel"])]
        if rig.bus.get("port") is not None:
            cmd += ["--port", str(rig.bus["port"])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + startup_s
        line = ""
        assert self.proc.stderr is not None
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stderr.readline()
            if "running" in line:
                return
        self.stop()
        raise RuntimeError(f"hil ecu did not start: {line.strip()}")

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM (hil ecu stops cleanly), SIGKILL after ``timeout_s``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout_s)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode
