"""Open-loop replay of a recorded log into the ECU runtime: exact back-to-back testing.

``hil replay LOG --rig R`` reads a recorded CAN log (BLF, ASC, candump log, MF4 bus
logging ... anything ``can.LogReader`` opens; :mod:`hil.trace.logs`), feeds every frame
the ECU *receives* (the plant's and the bench's messages) into a fresh ECU runtime at its
recorded time, in simulated time (deterministic, faster than real time), and compares
the ECU outputs it computes with the ECU outputs in the log, signal by signal.

Tolerances come from the DBC, per signal (:func:`signal_rule`):

- **exact** for value tables, flags (1 bit), bit fields and integer signals (integer
  scale and offset): the replayed value must be the recorded one;
- **one LSB** (the signal's scale) for scaled signals: the recorded value went through
  the same encoder, so a correct replay is within one quantisation step;
- E2E counters and CRCs are not compared (a counter starts where the ECU was).

Alignment. Each ECU output frame is compared with the replayed frame that the *same
trigger* produced, not with whatever was sent nearest in time: a frame of a
reception-triggered task (EcuFast, sent on PlantFast) is keyed by the time of the trigger
frame it answered (the same input frame in the log and in the replay); a cyclic frame
(EcuStatus, EcuDiag) by its slot in the ECU's send schedule, whose phase is recovered from
the log (the replay's ECU starts at the recorded ECU's schedule origin, not at the first
frame). Scheduling jitter of the recording (an output sent late, a cyclic frame stamped
late) therefore cannot make a comparison fail. What the live ECU did in another order
than the replay (a task run late, catching up after a frame it received meanwhile) shifts
a value change by a task period: a recorded value matches when the replay shows it within
the **time-alignment window** (default one cycle of the message, either side) of its key.

The report lists every mismatching interval (from, to, expected, got), the rule of each
signal, and nothing without its meaning (no "inf" beside PASS): a signal with samples the
replay never produced says so.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import can
import numpy as np
import simpy

from hil.bench.assembly import assemble, load_contract
from hil.bench.clock import simulated_environment
from hil.config.rig import RigConfig
from hil.errors import ConfigError, TraceError
from hil.nodes import ECU
from hil.nodes.ecu import EcuRuntime
from hil.nodes.ecu_config import load_ecu_config
from hil.trace.export import export
from hil.trace.files import atomic_output
from hil.trace.logs import LogTrace, read_log
from hil.wire.codec import Codec
from hil.wire.dbc import cycle_time_ns

Progress = Callable[[str, float], None]

#: E2E header signals: differ by construction (a counter starts where the ECU was).
_E2E_SUFFIXES = ("_CRC", "_Counter")


class _ReplayBus(can.BusABC):
    """A bus in simulated time: the replay pushes frames in; sent frames are kept with the
    time of the last trigger frame fed before them."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(channel="replay")
        self.env = env
        self.callbacks: list[Any] = []
        self.sent: list[tuple[int, int, bytes]] = []

    def add_rx_callback(self, fn: Any) -> None:
        self.callbacks.append(fn)

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        self.sent.append((int(self.env.now), msg.arbitration_id, bytes(msg.data)))

    def _recv_internal(self, timeout: float | None) -> tuple[None, bool]:
        return None, False


@dataclass(frozen=True)
class Rule:
    """How one signal is compared: ``exact`` (tolerance 0) or ``lsb`` (one scale step)."""

    kind: str            # "exact" | "lsb" | "given"
    tolerance: float
    why: str

    def text(self, unit: str) -> str:
        if self.kind == "exact":
            return f"exact ({self.why})"
        return f"±{self.tolerance:g}{(' ' + unit) if unit else ''} ({self.why})"


def signal_rule(sig: Any, override: float | None = None) -> Rule:
    """The DBC-derived tolerance of one signal (``override``: a user's value)."""
    if override is not None:
        return Rule("given", float(override), "--tolerance")
    scale, offset = sig.scale or 1, sig.offset or 0
    if sig.choices:
        return Rule("exact", 0.0, "value table")
    if sig.length == 1:
        return Rule("exact", 0.0, "flag")
    if not sig.is_float and scale == int(scale) and offset == int(offset):
        kind = "bit field" if "bit" in (sig.comment or "").lower() else "integer"
        return Rule("exact", 0.0, kind)
    return Rule("lsb", abs(float(scale)), "1 LSB")


@dataclass
class Interval:
    """Consecutive recorded samples the replay did not reproduce."""

    from_s: float
    to_s: float
    samples: int
    expected: str
    got: str


@dataclass
class SignalComparison:
    message: str
    signal: str
    unit: str
    rule: str
    tolerance: float
    window_ms: float
    compared: int
    mismatched: int
    max_deviation: float | None   # None: every sample matched exactly or had no replay
    missing: int                  # recorded samples with no replayed frame in the window
    intervals: list[Interval] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.compared > 0 and self.mismatched == 0

    @property
    def deviation_text(self) -> str:
        if self.compared == 0:
            return "nothing compared"
        if self.mismatched == 0:
            return "all reproduced"
        parts = [f"{self.mismatched} of {self.compared} not reproduced"]
        if self.max_deviation is not None:
            parts.append(f"worst off by {self.max_deviation:.6g}{(' ' + self.unit) if self.unit else ''}")
        if self.missing:
            parts.append(f"{self.missing} with no replayed frame within "
                         f"{self.window_ms:g} ms")
        return ", ".join(parts)


@dataclass
class ReplayReport:
    log: str
    timestamp_source: str
    frames_in: int
    outputs_recorded: int
    outputs_replayed: int
    duration_s: float
    skip_s: float
    origin_s: float
    origin_how: str
    signals: list[SignalComparison] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.signals) and all(s.passed for s in self.signals)

    def table(self, max_intervals: int = 5) -> str:
        lines = [f"replay of {self.log}: {self.frames_in} input frames over "
                 f"{self.duration_s:.2f} s; ECU frames recorded {self.outputs_recorded}, "
                 f"replayed {self.outputs_replayed}",
                 f"  timestamps: {self.timestamp_source}",
                 f"  ECU schedule origin: t={self.origin_s:+.6f} s on the log's time axis "
                 f"({self.origin_how}); first {self.skip_s:g} s not compared",
                 f"{'signal':30s} {'result':6s} {'compared':>8s}  {'tolerance':34s} outcome"]
        for s in self.signals:
            lines.append(f"{s.message + '.' + s.signal:30s} {'PASS' if s.passed else 'FAIL':6s} "
                         f"{s.compared:8d}  {s.rule + f', window ±{s.window_ms:g} ms':34s} "
                         f"{s.deviation_text}")
            for iv in s.intervals[:max_intervals]:
                span = (f"t={iv.from_s:.6f} s" if iv.samples == 1
                        else f"t={iv.from_s:.6f} .. {iv.to_s:.6f} s ({iv.samples} samples)")
                lines.append(f"    {span}: expected {iv.expected}, got {iv.got}")
            if len(s.intervals) > max_intervals:
                lines.append(f"    ... {len(s.intervals) - max_intervals} more intervals in "
                             "replay.json")
        failed = [s for s in self.signals if not s.passed]
        lines.append(f"back-to-back {'PASSED' if self.passed else 'FAILED'}: "
                     f"{len(self.signals) - len(failed)} of {len(self.signals)} signals "
                     "reproduced sample for sample (exact, or within one LSB for scaled "
                     "signals, at the frame of the same trigger ± the window)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        for s, d in zip(self.signals, out["signals"], strict=True):
            d["passed"] = s.passed
            d["outcome"] = s.deviation_text
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# -- schedule and alignment ------------------------------------------------------------


def _ecu_on(env: simpy.Environment, bus: _ReplayBus, rig: RigConfig, db: Any, codec: Codec,
            calibration: str | Path | None) -> EcuRuntime:
    """The rig's ECU runtime (controllers, calibration) on the replay bus, started."""
    from hil.bench.emulator import configure_session

    loop = assemble(rig, env, lambda node: bus, nodes=(ECU,), db=db, codec=codec,
                    calibration=calibration, trace=False)
    assert loop.ecu is not None and loop.ecu_config is not None
    # The session the live ECU ran (hil ecu): reset requests in the log re-initialise the
    # replayed ECU too, and supervision starts at its first reception as it did live.
    configure_session(loop.ecu, rig, loop.ecu_config, calibration)
    loop.ecu.start()
    return loop.ecu


def _dry_schedule(rig: RigConfig, db: Any, codec: Codec, calibration: str | Path | None,
                  ecu_ids: set[int], span_ns: int) -> dict[int, int]:
    """First send time (ns from the ECU's start) of each cyclic ECU message, learned from
    the runtime itself: a run without any input for one longest cycle."""
    env = simulated_environment()
    bus = _ReplayBus(env)
    _ecu_on(env, bus, rig, db, codec, calibration)
    env.run(until=span_ns + 1)
    bus.shutdown()
    first: dict[int, int] = {}
    for t, fid, _ in bus.sent:
        first.setdefault(fid, t)
    return {fid: t for fid, t in first.items() if fid in ecu_ids}


def _circular_low(residues: np.ndarray, period: int) -> float:
    """The low edge of the main cluster of residues on a circle of ``period``: the
    schedule's phase when recorded times are scheduled times plus a delay that is mostly
    small (jitter only adds). Found without letting outliers decide it (a frame stamped a
    stall later lands anywhere on the circle): the densest window of period/20, then down
    the sorted values while they stay dense (no gap over period/200)."""
    angles = residues * (2 * math.pi / period)
    centre = math.atan2(float(np.sin(angles).mean()), float(np.cos(angles).mean()))
    centre_ns = (centre / (2 * math.pi)) * period
    h = np.sort((residues - centre_ns + period / 2) % period)
    width = period / 20
    counts = np.searchsorted(h, h + width, side="right") - np.arange(h.size)
    i = int(np.argmax(counts))
    gaps = np.diff(h[:i + 1])
    wide = np.flatnonzero(gaps > period / 200)
    low = h[wide[-1] + 1] if wide.size else h[0]
    return float(low) + centre_ns - period / 2


def _recorder_delay(rec: dict[int, np.ndarray], triggered: dict[int, tuple[int, int]],
                    inputs: dict[int, np.ndarray], cycles: Mapping[int, int]) -> int:
    """How late the log stamps an ECU frame after the ECU sent it (transmission, the
    recorder's latency): the low edge (1st percentile) of the delays of triggered frames
    after the latest trigger frame before them, less the task's execution time. Frames
    later than 1.5 trigger periods (watchdog runs) do not count. ~0 for the ECU's own
    trace (stamped when sent)."""
    delays = []
    for fid, (trig_id, exec_ns) in triggered.items():
        out, trig = rec.get(fid), inputs.get(trig_id)
        period = cycles.get(trig_id) or 0
        if out is None or trig is None or out.size < 3 or not trig.size or not period:
            continue
        idx = np.searchsorted(trig, out, side="right") - 1
        ok = idx >= 0
        lag = out[ok] - trig[idx[ok]]
        lag = lag[lag <= 3 * period // 2]
        if lag.size:
            delays.append(float(np.quantile(lag, 0.01)) - exec_ns)
    return max(0, round(min(delays))) if delays else 0


def _recover_origin(rec: dict[int, np.ndarray], schedule: dict[int, int],
                    cycles: dict[int, int], first_frame_ns: int,
                    delay_ns: int) -> tuple[int, str]:
    """Where the recorded ECU's schedule started (ns on the log's time axis), from its
    cyclic frames, less the recorder's delay: the message with the most frames fixes the
    phase finely (mod its cycle), the longest-cycle message picks which of its cycles
    (mod the longest cycle); the origin is the phase point nearest the first input frame
    (within half a cycle) of the log's first frame."""
    usable = [f for f in schedule if f in rec and len(rec[f]) >= 3]
    if not usable:
        return 0, "no cyclic ECU frames in the log: the first frame"
    fine = max(usable, key=lambda f: (len(rec[f]), -cycles[f]))
    coarse = max(usable, key=lambda f: (cycles[f], len(rec[f])))
    c_fine, c_long = cycles[fine], cycles[coarse]
    p_fine = _circular_low((rec[fine] - schedule[fine]) % c_fine, c_fine)
    p_long = _circular_low((rec[coarse] - schedule[coarse]) % c_long, c_long)
    if c_long % c_fine == 0 and c_long > c_fine:
        cands = p_fine + c_fine * np.arange(c_long // c_fine)
        dist = np.abs((cands - p_long + c_long / 2) % c_long - c_long / 2)
        phase, period = float(cands[int(np.argmin(dist))]), c_long
    else:
        phase, period = p_fine, c_fine
    phase -= delay_ns
    origin = int(round(phase + math.floor((first_frame_ns - phase) / period + 0.5) * period))
    return origin, (f"phase of the ECU's send schedule from {len(rec[fine])} cyclic frames "
                    f"of id 0x{fine:X} ({c_fine / 1e6:g} ms) and {len(rec[coarse])} of "
                    f"0x{coarse:X} ({c_long / 1e6:g} ms), less a recorder delay of "
                    f"{delay_ns / 1e3:.0f} us")


#: hil ecu handles and sends frames on a 1 us grid of its clock (hil.bench.emulator); a
#: log whose every time lies within GRID_SLACK_NS of that grid is put back onto it: the
#: float timestamps of python-can's readers move a Unix time by up to 119 ns each way.
GRID_NS = 1_000
GRID_SLACK_NS = 300


def _on_grid(times: np.ndarray) -> bool:
    """Whether every time (ns from the log's first frame) is a whole microsecond within
    the float rounding of the log's timestamps: the trace of hil ecu's own timeline."""
    if not times.size:
        return False
    off = np.abs((times + GRID_NS // 2) % GRID_NS - GRID_NS // 2)
    return bool(off.max() <= GRID_SLACK_NS)


def _snapper(on_grid: bool) -> Callable[[np.ndarray], np.ndarray]:
    if not on_grid:
        return lambda t: t
    return lambda t: ((t + GRID_NS // 2) // GRID_NS) * GRID_NS


def _keys(times: np.ndarray, trigger_t: np.ndarray | None, slot: tuple[int, int] | None,
          exec_ns: int, trigger_period: int = 0) -> np.ndarray:
    """Alignment key of each output frame, in ns.

    Triggered message: the *index* of the trigger frame it answered times the trigger
    period (the window then counts trigger frames, not the recording's jitter). Each
    trigger is answered once, in order: an output takes the oldest trigger not yet
    answered at or before it (a stalled ECU answers a burst of triggers late, in order);
    one with no such trigger (nor one within 1.5 periods) is a watchdog run, keyed
    between the trigger frames by its own time. Cyclic message: its schedule slot.
    """
    if trigger_t is not None and trigger_t.size:
        keys = np.empty(times.size, dtype=np.int64)
        latest = np.searchsorted(trigger_t, times - exec_ns, side="right") - 1
        stale = 10 * trigger_period  # an unanswered trigger older than this was lost
        p = 0
        n = trigger_t.size
        for j, t in enumerate(times.tolist()):
            last = int(latest[j])
            while p <= last and t - exec_ns - int(trigger_t[p]) > stale:
                p += 1
            if p <= last:
                keys[j] = p * trigger_period
                p += 1
            else:
                ref = max(last, 0) if last < n else n - 1
                frac = max(t - exec_ns - int(trigger_t[ref]), 0) / trigger_period
                keys[j] = round((ref + min(frac, 0.999)) * trigger_period) if last >= 0 else t
        return keys
    if slot is not None:
        first, cycle = slot
        return first + np.round((times - first) / cycle).astype(np.int64) * cycle
    return times


def _describe(values: np.ndarray, sig: Any) -> str:
    uniq = np.unique(values[np.isfinite(values)])
    names = sig.choices or {}

    def one(v: float) -> str:
        text = f"{v:.6g}"
        label = names.get(int(v)) if names and float(v).is_integer() else None
        return f"{text} ({label})" if label is not None else text

    if not uniq.size:
        return "no value"
    if uniq.size <= 3:
        return " / ".join(one(v) for v in uniq)
    return f"{one(uniq.min())} .. {one(uniq.max())}"


def _compare(rec_k: np.ndarray, rec_t: np.ndarray, a: np.ndarray, rep_k: np.ndarray,
             b: np.ndarray, window: int, tol: float, sig: Any, skip_ns: int,
             base: SignalComparison) -> SignalComparison:
    lo = np.searchsorted(rep_k, rec_k - window, side="left")
    hi = np.searchsorted(rep_k, rec_k + window, side="right")
    compare = rec_t >= skip_ns
    ok = np.zeros(a.size, dtype=bool)
    dev = np.full(a.size, np.nan)
    eps = tol * 1e-6 + 1e-9  # decoding scale * raw in float: equal codes within rounding
    for i in np.flatnonzero(compare):
        if hi[i] <= lo[i]:
            continue
        d = float(np.min(np.abs(b[lo[i]:hi[i]] - a[i])))
        dev[i] = d
        ok[i] = d <= tol + eps
    bad = compare & ~ok
    base.compared = int(compare.sum())
    base.mismatched = int(bad.sum())
    base.missing = int((bad & np.isnan(dev)).sum())
    worst = dev[bad & ~np.isnan(dev)]
    base.max_deviation = float(worst.max()) if worst.size else None
    idx = np.flatnonzero(bad)
    if idx.size:
        # Consecutive recorded samples (no reproduced sample between) form one interval.
        pos = np.flatnonzero(compare)
        rank = np.searchsorted(pos, idx)
        breaks = np.flatnonzero(np.diff(rank) > 1) + 1
        for run in np.split(idx, breaks):
            got_lo = lo[run[0]]
            got_hi = hi[run[-1]]
            got = _describe(b[got_lo:got_hi], sig) if got_hi > got_lo else \
                f"no replayed frame within ±{window / 1e6:g} ms"
            base.intervals.append(Interval(float(rec_t[run[0]] / 1e9), float(rec_t[run[-1]] / 1e9),
                                           int(run.size), _describe(a[run], sig), got))
    return base


# -- the replay ---------------------------------------------------------------------------


def replay(log: str | os.PathLike[str] | LogTrace, rig: RigConfig, *,
           calibration: str | Path | None = None,
           tolerances: Mapping[str, float] | None = None, skip_s: float = 0.5,
           window_ms: float | None = None, out_dir: str | Path | None = None,
           progress: Progress | None = None) -> ReplayReport:
    """Feed ``log`` open-loop into a fresh ECU runtime and compare its outputs.

    ``window_ms``: the time-alignment window either side of each output's key (default:
    one cycle of its message). ``tolerances``: ``{"Signal" or "Msg.Signal": value}``
    instead of the DBC-derived rule.
    """
    if rig.ecu_config is None:
        raise ConfigError(f"rig {rig.name}: replay needs 'ecu_config' (the controllers to "
                          "run)", file=str(rig.path))
    if skip_s < 0:
        raise ConfigError(f"skip must be >= 0 s, got {skip_s:g}")
    if window_ms is not None and not (0 <= window_ms < 10_000):
        raise ConfigError(f"window must be in [0, 10000) ms, got {window_ms:g}")
    db, codec = load_contract(rig, out_of_range="saturate")
    config = load_ecu_config(rig.ecu_config, db)  # its tasks: which outputs are triggered
    tolerances = dict(tolerances or {})
    known_sigs = {s.name for m in db.messages for s in m.signals} | {
        f"{m.name}.{s.name}" for m in db.messages for s in m.signals}
    for name in tolerances:
        if name not in known_sigs:
            raise ConfigError(f"--tolerance {name}: no such signal in {rig.dbc}")
    logged = log if isinstance(log, LogTrace) else read_log(log, db, progress=progress)
    trace = logged.trace
    ecu_msgs = [m for m in db.messages if config.node in m.senders]
    ecu_ids = {m.frame_id for m in ecu_msgs}
    all_frames = trace.frames()
    from hil.wire.flags import FLAG_ERROR
    data_rows = (all_frames.flags & FLAG_ERROR) == 0
    known = {m.frame_id for m in db.messages}
    is_input = data_rows & np.isin(all_frames.id, list(known - ecu_ids))
    if not is_input.any():
        raise TraceError(f"{logged.path}: no frame the ECU receives (plant or bench messages) "
                         "in the log")
    on_grid = _on_grid(all_frames.t_end_ns[data_rows])
    grid = _snapper(on_grid)
    in_t = grid(all_frames.t_end_ns[is_input])
    in_id = all_frames.id[is_input]
    in_data = all_frames.data[is_input]
    in_dlc = all_frames.dlc[is_input]
    rec = {m.frame_id: grid(trace.frames(m).t_end_ns) for m in ecu_msgs}
    cycles = {m.frame_id: cycle_time_ns(m) or 0 for m in ecu_msgs}
    longest = max((c for c in cycles.values()), default=0) or 100_000_000
    schedule = _dry_schedule(rig, db, codec, calibration, ecu_ids, longest)
    schedule = {f: t for f, t in schedule.items() if cycles.get(f)}
    triggered = {}
    for task in config.tasks:
        if task.trigger is not None:
            for name in task.sends:
                triggered[db.get_message_by_name(name).frame_id] = (
                    db.get_message_by_name(task.trigger).frame_id, task.exec_time_ns)
    for fid in triggered:
        schedule.pop(fid, None)
    inputs_by_id = {int(f): in_t[in_id == f] for f in np.unique(in_id)}
    in_cycles = {m.frame_id: cycle_time_ns(m) or 0 for m in db.messages}
    delay = _recorder_delay(rec, triggered, inputs_by_id, in_cycles)
    first_frame = int(grid(all_frames.t_end_ns[data_rows][:1])[0])
    origin, how = _recover_origin(rec, schedule, cycles, first_frame, delay)

    env = simulated_environment()
    bus = _ReplayBus(env)
    _ecu_on(env, bus, rig, db, codec, calibration)
    shift = -origin  # log time -> replay time (the ECU starts at replay time 0)
    n_in = int(in_t.size)
    end_ns = int(all_frames.t_end_ns[-1]) + shift + 1

    def feed():
        # A frame stamped t is handled before the ECU's own events due at t: that is what
        # the live ECU did (its clock handles the frames already received before a due or
        # late task, and stamps them with that task's time); simpy would otherwise run the
        # task first, its event being older.
        step = max(n_in // 20, 1)
        for k in range(n_in):
            at = int(in_t[k]) + shift
            if at > env.now:
                wake = simpy.Event(env)
                wake._ok, wake._value = True, None
                env.schedule(wake, priority=simpy.events.URGENT, delay=at - env.now)
                yield wake
            msg = can.Message(arbitration_id=int(in_id[k]), data=in_data[k, :in_dlc[k]].tobytes(),
                              is_extended_id=int(in_id[k]) > 0x7FF, check=False)
            for fn in bus.callbacks:
                fn(msg)
            if progress is not None and k % step == 0 and k:
                progress(f"replayed {k} of {n_in} input frames", k / n_in)

    env.process(feed())
    try:
        env.run(until=max(end_ns, 1))
    finally:
        bus.shutdown()
    if progress is not None:
        progress(f"replayed {n_in} input frames", 1.0)

    from hil.trace.core import Trace
    replayed = Trace(db, nodes=(ECU,), chunk_frames=65536)
    for t, fid, data in bus.sent:
        replayed.add_frame(t, t, fid, data, 0, 0)
    replayed.close()
    recorded_outputs = int(sum(len(v) for v in rec.values()))
    source = logged.timestamp_source + (
        f"; every time on a {GRID_NS // 1000} us grid (within {GRID_SLACK_NS} ns), restored "
        "to it" if on_grid else "")
    report = ReplayReport(str(logged.path), source, n_in, recorded_outputs,
                          len(bus.sent), (end_ns - 1) / 1e9, skip_s, origin / 1e9, how)
    skip_ns = round(skip_s * 1e9)
    for message in ecu_msgs:
        fid = message.frame_id
        if not len(rec[fid]):
            continue
        rec_series = trace.decoded(message)
        rep_series = replayed.decoded(message)
        rec_t = grid(next(iter(rec_series.values())).t_ns) + shift
        rep_t = next(iter(rep_series.values())).t_ns if rep_series else np.zeros(0, np.int64)
        cycle = cycles[fid] or longest
        window = round((window_ms * 1e6) if window_ms is not None else cycle)
        if fid in triggered:
            trig_id, exec_ns = triggered[fid]
            trig_t = in_t[in_id == trig_id] + shift
            period = in_cycles.get(trig_id) or cycle
            rec_k = _keys(rec_t, trig_t, None, exec_ns, period)
            rep_k = _keys(rep_t, trig_t, None, exec_ns, period)
        elif fid in schedule:
            slot = (schedule[fid], cycle)
            rec_k, rep_k = _keys(rec_t, None, slot, 0), _keys(rep_t, None, slot, 0)
        else:
            rec_k, rep_k = rec_t, rep_t
        order = np.argsort(rep_k, kind="stable")
        rep_k = rep_k[order]
        for sig in message.signals:
            if sig.name.endswith(_E2E_SUFFIXES):
                continue
            over = tolerances.get(f"{message.name}.{sig.name}", tolerances.get(sig.name))
            rule = signal_rule(sig, over)
            a = rec_series[sig.name].values
            b = rep_series[sig.name].values[order] if rep_series else np.zeros(0)
            base = SignalComparison(message.name, sig.name, sig.unit or "", rule.text(sig.unit or ""),
                                    rule.tolerance, window / 1e6, 0, 0, None, 0)
            report.signals.append(_compare(rec_k, rec_t, a, rep_k, b, window, rule.tolerance,
                                           sig, skip_ns, base))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_output(out / "replay.json") as tmp:
            tmp.write_text(report.to_json(), encoding="utf-8")
        replayed.start_time_s = trace.start_time_s + origin / 1e9
        export(replayed, "blf", out / "replayed_ecu.blf")
    return report
