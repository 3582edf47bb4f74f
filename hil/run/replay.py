"""Open-loop replay of a recorded log into the ECU runtime: back-to-back testing.

``hil replay LOG --rig R`` reads a recorded CAN log with python-can's own readers
(BLF, ASC, candump log, CSV, ... — whatever ``can.LogReader`` opens), feeds every
frame the ECU *receives* (the plant's and the bench's messages) into a fresh ECU
runtime at its recorded time, in simulated time (deterministic, faster than real
time), and compares the ECU outputs it produces with the ECU outputs in the log,
signal by signal, within tolerance bands:

- a recorded value matches when a replayed value of the same signal lies within the
  value tolerance somewhere within one cycle of the message (either side) — the live
  ECU's cyclic tasks had another phase than the replayed one;
- the default value tolerance is 2 LSB plus 0.5 % of the signal's recorded span;
  ``tolerances`` overrides it per signal;
- the first ``skip_s`` are not compared (the live ECU may have been running, and
  latched startup faults, before the recording began);
- a signal passes when at least ``min_match`` of its compared samples match.

The comparison is a report (a table, and JSON), not an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import can
import numpy as np
import simpy

from hil.bench.assembly import assemble, load_contract
from hil.bench.clock import simulated_environment
from hil.config.rig import RigConfig
from hil.errors import ConfigError, TraceError
from hil.nodes.ecu_config import load_ecu_config
from hil.wire.dbc import cycle_time_ns


class _ReplayBus(can.BusABC):
    """A bus in simulated time: frames are pushed in by the replay, sent frames are kept."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(channel="replay")
        self.env = env
        self.callbacks: list[Any] = []
        self.sent: list[tuple[int, int, bytes]] = []

    def add_rx_callback(self, fn: Any) -> None:
        self.callbacks.append(fn)

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        self.sent.append((self.env.now, msg.arbitration_id, bytes(msg.data)))

    def _recv_internal(self, timeout: float | None) -> tuple[None, bool]:
        return None, False


@dataclass
class SignalComparison:
    message: str
    signal: str
    compared: int
    matched: int
    max_deviation: float
    tolerance: float
    worst_t_s: float | None
    passed: bool

    @property
    def fraction(self) -> float:
        return self.matched / self.compared if self.compared else 0.0


@dataclass
class ReplayReport:
    log: str
    frames_in: int
    outputs_recorded: int
    outputs_replayed: int
    duration_s: float
    skip_s: float
    min_match: float
    signals: list[SignalComparison] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.signals) and all(s.passed for s in self.signals)

    def table(self) -> str:
        lines = [f"replay of {self.log}: {self.frames_in} input frames over "
                 f"{self.duration_s:.2f} s; ECU frames recorded {self.outputs_recorded}, "
                 f"replayed {self.outputs_replayed}; first {self.skip_s:g} s not compared",
                 f"{'signal':28s} {'result':6s} {'match':>8s} {'max dev':>10s} "
                 f"{'tolerance':>10s}  worst at"]
        for s in self.signals:
            when = "-" if s.worst_t_s is None else f"{s.worst_t_s:.4f} s"
            lines.append(f"{s.message + '.' + s.signal:28s} {'PASS' if s.passed else 'FAIL':6s} "
                         f"{s.fraction * 100:7.2f}% {s.max_deviation:10.4g} {s.tolerance:10.4g}"
                         f"  {when}")
        lines.append(f"back-to-back {'PASSED' if self.passed else 'FAILED'}: "
                     f"{sum(s.passed for s in self.signals)} of {len(self.signals)} signals "
                     f"reproduced (>= {self.min_match * 100:g} % of samples within tolerance)")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"log": self.log, "passed": self.passed,
                           "frames_in": self.frames_in, "duration_s": self.duration_s,
                           "outputs_recorded": self.outputs_recorded,
                           "outputs_replayed": self.outputs_replayed,
                           "skip_s": self.skip_s, "min_match": self.min_match,
                           "signals": [vars(s) | {"fraction": s.fraction}
                                       for s in self.signals]}, indent=2)


def read_log(path: str | Path) -> list[can.Message]:
    path = Path(path)
    if not path.exists():
        raise TraceError(f"{path}: no such log file")
    try:
        with can.LogReader(str(path)) as reader:
            frames = [m for m in reader if not m.is_error_frame and not m.is_remote_frame]
    except (ValueError, OSError, can.CanError) as exc:
        raise TraceError(f"{path}: cannot read it as a CAN log ({exc})") from None
    if not frames:
        raise TraceError(f"{path}: the log holds no CAN frames")
    frames.sort(key=lambda m: m.timestamp)
    return frames


def replay(log: str | Path, rig: RigConfig, *, calibration: str | Path | None = None,
           tolerances: dict[str, float] | None = None, skip_s: float = 0.5,
           min_match: float = 0.99, out_dir: str | Path | None = None) -> ReplayReport:
    """Feed ``log`` open-loop into a fresh ECU runtime and compare its outputs."""
    if rig.ecu_config is None:
        raise ConfigError(f"rig {rig.name}: replay needs 'ecu_config' (the controllers to "
                          "run)", file=str(rig.path))
    db, codec = load_contract(rig, out_of_range="saturate")
    config = load_ecu_config(rig.ecu_config, db)  # which messages are the ECU's
    frames = read_log(log)
    ecu_ids = {m.frame_id for m in db.messages if config.node in m.senders}
    known = {m.frame_id for m in db.messages}
    inputs = [m for m in frames if m.arbitration_id in known and m.arbitration_id not in ecu_ids]
    recorded = [m for m in frames if m.arbitration_id in ecu_ids]
    if not inputs:
        raise TraceError(f"{log}: no frame the ECU receives (plant or bench messages) in the log")
    t0 = frames[0].timestamp
    env = simulated_environment()
    bus = _ReplayBus(env)
    loop = assemble(rig, env, lambda node: bus, nodes=("ECU",), db=db, codec=codec,
                    calibration=calibration, trace=False)
    assert loop.ecu is not None
    loop.ecu.start()

    def feed():
        for msg in inputs:
            at = round((msg.timestamp - t0) * 1e9)
            if at > env.now:
                yield env.timeout(at - env.now)
            for fn in bus.callbacks:
                fn(msg)

    env.process(feed())
    end_ns = round((frames[-1].timestamp - t0) * 1e9) + 1
    try:
        env.run(until=end_ns)
    finally:
        bus.shutdown()

    report = ReplayReport(str(log), len(inputs), len(recorded), len(bus.sent), end_ns / 1e9,
                          skip_s, min_match)
    tolerances = dict(tolerances or {})
    skip_ns = round(skip_s * 1e9)
    for message in db.messages:
        if message.frame_id not in ecu_ids:
            continue
        rec = [(round((m.timestamp - t0) * 1e9), bytes(m.data)) for m in recorded
               if m.arbitration_id == message.frame_id]
        rep = [(t, d) for t, fid, d in bus.sent if fid == message.frame_id]
        if not rec:
            continue
        window = cycle_time_ns(message) or 100_000_000
        rec_t = np.array([t for t, _ in rec], dtype=np.int64)
        rep_t = np.array([t for t, _ in rep], dtype=np.int64)
        rec_v = [message.decode(d, decode_choices=False) for _, d in rec]
        rep_v = [message.decode(d, decode_choices=False) for _, d in rep]
        for sig in message.signals:
            if sig.name.endswith(("_CRC", "_Counter")):
                continue  # E2E header: differs by construction (counters start elsewhere)
            a = np.array([float(v[sig.name]) for v in rec_v])
            b = np.array([float(v[sig.name]) for v in rep_v]) if rep_v else np.array([])
            span = float(a.max() - a.min()) if a.size else 0.0
            tol = tolerances.get(sig.name, tolerances.get(f"{message.name}.{sig.name}",
                                 2 * abs(sig.scale or 1) + 0.005 * span))
            compared = matched = 0
            worst = 0.0
            worst_t = None
            lo = np.searchsorted(rep_t, rec_t - window, side="left")
            hi = np.searchsorted(rep_t, rec_t + window, side="right")
            for i, t in enumerate(rec_t):
                if t < skip_ns:
                    continue
                compared += 1
                if hi[i] > lo[i]:
                    dev = float(np.min(np.abs(b[lo[i]:hi[i]] - a[i])))
                else:
                    dev = float("inf")
                if dev <= tol:
                    matched += 1
                if dev > worst:
                    worst, worst_t = dev, t / 1e9
            ok = compared > 0 and matched >= min_match * compared
            report.signals.append(SignalComparison(message.name, sig.name, compared, matched,
                                                   worst, tol, worst_t, ok))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "replay.json").write_text(report.to_json())
        with can.BLFWriter(str(out / "replayed_ecu.blf"), channel=1) as writer:
            for t, fid, data in bus.sent:
                writer.on_message_received(can.Message(timestamp=t0 + t / 1e9,
                                                       arbitration_id=fid, data=data,
                                                       is_extended_id=fid > 0x7FF))
    return report
