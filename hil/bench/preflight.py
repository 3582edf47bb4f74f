"""Preflight and rig self-test of a wall-clock rig; INCONCLUSIVE timing verdicts.

``hil preflight --rig R`` (and every wall-clock scenario run, first) runs the
rig's plant node for a moment against the ECU on the wire and checks what a
bench engineer checks before trusting a run: the bus opens and carries frames,
the ECU's messages arrive at their DBC cycle times, their alive counters and CRCs
are valid, the values make physical sense (an engine speed behaves like a speed,
a lambda like a lambda, the ECU's commands lie in their ranges) and the actuator
frames reach the plant. The same run is the **rig self-test**: the bench's own
pacing (lateness p50 / p99 / max of its timed events, overruns).

A rig whose pacing cannot resolve a timing bound does not get to pass (or fail)
that expectation: :func:`qualify_verdicts` turns such verdicts into
:class:`InconclusiveVerdict` with the reason and the measured figures — never a
silent pass. Rule: a time bound B is resolvable when the bench's lateness p99 is
at most B/10, its maximum at most B/2, and (for B under 10 ms) the run had no
overrun (an event more than 1 ms late).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from hil.bench.base import Fitness, InconclusiveVerdict, timing_bound_ns
from hil.bench.base import is_inconclusive as is_inconclusive  # re-exported
from hil.bench.base import tightest_timing_bound_ns as tightest_timing_bound_ns  # re-exported
from hil.config.rig import RigConfig, SanityRange
from hil.config.units import UnitError, format_time_ns, parse_time_ns
from hil.config.yamlio import error_at
from hil.nodes import ECU
from hil.scenario.expect import Verdict
from hil.scenario.model import Budget
from hil.wire.dbc import cycle_time_ns, e2e_data_id
from hil.wire.e2e import E2ERx, RxStatus

if TYPE_CHECKING:
    from hil.bench.fitness import Stall

PASS, FAIL, WARN = "PASS", "FAIL", "WARN"
#: The self-test's check name: a preflight whose only failure it is says the rig cannot
#: judge the timing asked of it (Fitness.unfit_reason): the scenario is INCONCLUSIVE.
PACING_CHECK = "self-test pacing"

#: Overruns (events more than 1 ms late) disqualify bounds under this; longer bounds are
#: judged by the lateness p99 and maximum alone.
OVERRUN_RELEVANT_NS = 10_000_000



# -- rig capability and INCONCLUSIVE verdicts -------------------------------------------------

def resolvable(bound_ns: float, pacing: dict[str, Any]) -> str | None:
    """None if the measured pacing resolves ``bound_ns``; else the reason it does not."""
    p99_ns = pacing.get("p99_us", 0.0) * 1e3
    max_ns = pacing.get("max_us", 0.0) * 1e3
    overruns = int(pacing.get("overruns", 0))
    problems = []
    if p99_ns > bound_ns / 10:
        problems.append(f"lateness p99 {format_time_ns(int(p99_ns))} > "
                        f"{format_time_ns(int(bound_ns / 10))} (bound/10)")
    if max_ns > bound_ns / 2:
        problems.append(f"lateness max {format_time_ns(int(max_ns))} > "
                        f"{format_time_ns(int(bound_ns / 2))} (bound/2)")
    if overruns and bound_ns < OVERRUN_RELEVANT_NS:
        problems.append(f"{overruns} overruns (events over 1 ms late)")
    if not problems:
        return None
    return (f"this rig cannot hold a {format_time_ns(int(bound_ns))} timing bound: "
            + ", ".join(problems) + f" ({pacing.get('policy', '')})")


_time_bound = timing_bound_ns   # the name hil.bench.fitness and older callers use


def _inconclusive(v: Verdict, message: str, reason: str) -> InconclusiveVerdict:
    """``v`` undecided: every field of the measured verdict kept (times, figures, margins:
    the margin report still ranks it), ``passed`` False and the measured outcome kept."""
    kept = {f.name: getattr(v, f.name) for f in dataclasses.fields(Verdict)}
    kept.update(passed=False, message=message)
    return InconclusiveVerdict(**kept, measured_passed=v.passed, reason=reason)


def qualify_verdicts(verdicts: list[Verdict], pacing: dict[str, Any], *, timestamps: str,
                     external_ecu: bool) -> list[Verdict]:
    """Timing verdicts of a wall-clock run: the timestamp source named, and INCONCLUSIVE
    where the rig's measured pacing cannot resolve the bound."""
    out: list[Verdict] = []
    for v in verdicts:
        e = v.expectation
        if isinstance(e, Budget) and external_ecu:
            out.append(_inconclusive(
                v, v.message, "task execution times are not observable on an external ECU"))
            continue
        bound = _time_bound(e)
        if bound is None:
            out.append(v)
            continue
        message = f"{v.message} [timestamps: {timestamps}]"
        reason = resolvable(bound, pacing)
        if reason is None:
            out.append(dataclasses.replace(v, message=message))
        else:
            out.append(_inconclusive(v, message, reason))
    return out


# -- preflight ----------------------------------------------------------------------------------

def _seconds(rig: RigConfig, key: str, default: str) -> float:
    raw = rig.preflight.get(key, default)
    try:
        return parse_time_ns(raw) / 1e9
    except UnitError as exc:
        raise rig.error("preflight", f"preflight.{key}: {exc}") from None


def run_preflight(rig: RigConfig, *, seconds: float | None = None, realtime: bool = True,
                  warmup_s: float = 0.3, own_ecu: bool = True,
                  timing_bound_ns: int | None = None) -> Fitness:
    """Run the rig's plant node against the ECU on the wire for a moment and check it.

    The ECU is first brought to its known state by the rig's session policy (a reset
    request; with ``own_ecu`` and ``session: {restart: process}`` a ``hil ecu`` of its
    own for the preflight), so what is checked is the ECU a scenario will meet.
    ``timing_bound_ns``: the tightest timing bound of what will run (the scenario's); the
    self-test FAILS when the bench's pacing cannot resolve it. 0: nothing to resolve (a
    scenario without timing bounds, a Python scenario whose bounds come later: its timing
    verdicts are qualified when evaluated). None: the rig's step.
    """
    from hil.bench.session import EcuProcess

    listen = seconds if seconds is not None else _seconds(rig, "listen", "1.5 s")
    tolerance = float(rig.preflight.get("cycle_tolerance", 0.2))
    report = Fitness(rig.name)
    session = rig.session
    process = (EcuProcess(rig) if own_ecu and session is not None
               and session.restart == "process" else None)
    try:
        return _run_preflight(rig, report, listen, tolerance, realtime, warmup_s,
                              timing_bound_ns)
    finally:
        if process is not None:
            process.stop()


def _run_preflight(rig: RigConfig, report: Fitness, listen: float, tolerance: float,
                   realtime: bool, warmup_s: float, timing_bound_ns: int | None) -> Fitness:
    from hil.bench.session import reach_known_state
    from hil.bench.wall import WallBench

    bench = WallBench(rig, realtime=realtime)   # raises InterfaceUnavailable: exit 2
    # The rig's quiet operating point (e.g. a dyno holding speed at part throttle): its
    # input names were checked against the plant when the bench was assembled.
    point = rig.operating_point
    try:
        if point.mode is not None:
            bench.plant.set_driver_mode(point.mode)
    except ValueError as exc:  # the plant's own error: an unknown mode, named closest
        bench.close()
        raise error_at(point.loc, f"preflight.operating_point.mode: {exc}") from None
    bench.plant.inputs.update(point.inputs)
    report.add("bus", PASS, f"{rig.bus.get('interface')} channel {rig.bus.get('channel')!r} "
               "opened")
    if rig.session is not None:
        outcome = reach_known_state(rig, bench.db, bench.codec)
        report.add("ECU reset", PASS if outcome.ok else FAIL, outcome.detail)
    try:
        bench.run_for(listen)
    finally:
        bench.close()
    trace = bench.trace
    figures = bench.figures()
    report.pacing = figures["pacing"]
    report.timestamps = figures["timestamps"]["received"]
    _check_traffic(report, bench)
    _check_ecu_messages(report, bench, trace, warmup_s, tolerance)
    _check_sanity(report, trace, warmup_s, rig.sanity)
    _check_ecu_state(report, rig, trace, bench, warmup_s)
    bound = timing_bound_ns if timing_bound_ns is not None else rig.step_ns
    pacing_check(report, report.pacing, bound, "the tightest timing bound to be judged"
                 if timing_bound_ns is not None else "the rig's step")
    return report


def pacing_check(report: Fitness, pacing: dict[str, Any], bound_ns: int, whose: str) -> None:
    """The self-test: the bench's own pacing must resolve ``bound_ns`` (the tightest timing
    bound to be judged), else the check FAILS naming the figures and the worst stall."""
    p = pacing
    figures_text = (f"lateness p50 {p['p50_us']:.1f} us, p99 {p['p99_us']:.1f} us, max "
                    f"{p['max_us']:.1f} us, {p['overruns']} overruns over {p['events']} events "
                    f"({p['policy']})")
    if bound_ns <= 0:
        report.add(PACING_CHECK, PASS, f"{figures_text}; no timing bound to resolve "
                   "(stalls are weighed against each verdict)")
        return
    reason = resolvable(bound_ns, p)
    if reason is None:
        report.add(PACING_CHECK, PASS, f"{figures_text}; resolves {whose}, "
                   f"{format_time_ns(bound_ns)}")
        return
    worst = p.get("worst_stall")
    stall = ("" if worst is None else f"; worst stall {worst['late_us'] / 1e3:.2f} ms at "
             f"{worst['t_s']:.3f} s of the listen")
    report.add(PACING_CHECK, FAIL, f"{figures_text}{stall}; cannot resolve {whose}, "
               f"{format_time_ns(bound_ns)}: {reason}")


def _check_ecu_state(report: Fitness, rig: RigConfig, trace: Any, bench: Any,
                     warmup_s: float) -> None:
    """The ECU must stay in its known state (the session's ready values: NORMAL, no latched
    fault) for the whole listen: a FAIL, not a warning -- a scenario would start from it.
    Only a bench stall beyond what the ECU's supervision tolerates, before the ECU left
    the state, makes it a warning naming the stall (the session resets it before t=0)."""
    from hil.bench.fitness import ecu_stall_tolerance_ns

    if rig.session is None:
        return
    first_bad: int | None = None
    problems = []
    for name, value in rig.session.ready.items():
        if not trace.has(name):
            problems.append(f"{name} never received")
            continue
        s = trace.signal(name)
        t_ns = np.asarray(s.t_ns, dtype=np.int64)
        keep = t_ns >= int(warmup_s * 1e9)
        values, t_ns = np.asarray(s.values, dtype=float)[keep], t_ns[keep]
        bad = np.flatnonzero(values != value)
        if values.size == 0:
            problems.append(f"{name} never received")
        elif bad.size:
            i = int(bad[0])
            first_bad = min(int(t_ns[i]), first_bad if first_bad is not None else 1 << 62)
            problems.append(f"{name} {values[i]:g} at {t_ns[i] / 1e9:.3f} s "
                            f"(values seen: {sorted({float(v) for v in np.unique(values)})})")
    wanted = ", ".join(f"{n} {v:g}" for n, v in rig.session.ready.items())
    tolerance = ecu_stall_tolerance_ns(rig, bench.db)
    stalls = [s for s in bench.stalls()
              if tolerance is not None and s.late_ns > tolerance
              and (first_bad is None or s.t_ns <= first_bad)]
    if problems and stalls and first_bad is not None:
        worst = max(stalls, key=lambda s: s.late_ns)
        report.add("ECU state", WARN, f"left its known state ({wanted}): " + "; ".join(problems)
                   + f" -- after {worst.text()} (the ECU's supervision tolerates "
                   f"{format_time_ns(tolerance or 0)})")
    elif problems:
        report.add("ECU state", FAIL, f"not in its known state ({wanted}) during the listen: "
                   + "; ".join(problems))
    else:
        report.add("ECU state", PASS, f"{wanted} throughout the listen after the "
                   f"{warmup_s:g} s warm-up")


def _worst_stall(bench: Any) -> Stall | None:
    """The listen's longest stall beyond what the ECU's supervision tolerates (the bench's
    own, or the ECU side's for an ECU process on this machine; one in the warm-up counts
    too: its catch-up burst runs on after it); None if none."""
    from hil.bench.fitness import ecu_stall_tolerance_ns

    tolerance = ecu_stall_tolerance_ns(bench.rig, bench.db)
    if tolerance is None:
        return None
    stalls = [s for s in bench.stalls() if s.late_ns > tolerance]
    return max(stalls, key=lambda s: s.late_ns) if stalls else None


def _check_traffic(report: Fitness, bench: Any) -> None:
    rx = bench.bus.frames_received
    if rx == 0:
        report.add("traffic", FAIL, f"no frame received in the listen time: is the ECU "
                   f"(hil ecu --rig {bench.rig.path}) running and on the same bus?")
    else:
        report.add("traffic", PASS, f"{bench.bus.frames_sent} frames sent, {rx} received "
                   f"(timestamps: {bench.bus.timestamp_source})")
    applied = bench.plant_node.frames_applied
    rejected = bench.plant_node.frames_rejected
    if applied == 0:
        report.add("loop closes", FAIL, "no actuator frame reached the plant")
    else:
        report.add("loop closes", PASS if rejected == 0 else WARN,
                   f"{applied} actuator frames applied to the plant, {rejected} rejected (E2E)")


def _check_ecu_messages(report: Fitness, bench: Any, trace: Any, warmup_s: float,
                        tolerance: float) -> None:
    warm = int(warmup_s * 1e9)
    for message in bench.db.messages:
        if ECU not in message.senders:
            continue
        cycle = cycle_time_ns(message)
        frames = trace.frames(message.name)
        t = np.asarray(frames.t_end_ns, dtype=np.int64)
        keep = t >= warm
        t_w = t[keep]
        name = f"{message.name} cycle"
        if t_w.size < 2:
            report.add(name, FAIL, f"{t_w.size} frames after {warmup_s:g} s warm-up; expected "
                       f"one every {format_time_ns(cycle or 0)}")
        elif cycle:
            d = np.diff(t_w)
            mean = float(d.mean())
            p99 = float(np.percentile(d, 99))
            ok = abs(mean - cycle) <= tolerance * cycle
            detail = (f"{t_w.size} frames, mean period {mean / 1e6:.3f} ms (DBC "
                      f"{cycle / 1e6:g} ms +-{tolerance * 100:g} %), p99 interval "
                      f"{p99 / 1e6:.3f} ms, max {d.max() / 1e6:.3f} ms")
            stall = None if ok else _worst_stall(bench)
            if stall is not None:
                # After a stall the bench catches up on its trigger frames in a burst, and
                # an ECU that answers them (or stopped with it) shows the bench's period,
                # not its own: a warning naming the stall; each verdict weighs its stalls.
                report.add(name, WARN, f"{detail} -- after {stall.text()}: the period is "
                           "the stalled bench's, not the ECU's")
            else:
                report.add(name, PASS if ok else FAIL, detail)
        data_id = e2e_data_id(message)
        if data_id is None or t.size == 0:
            continue
        rx = E2ERx(data_id)
        data = np.asarray(frames.data)
        dlc = np.asarray(frames.dlc)
        counts = {s: 0 for s in RxStatus}
        for i in range(t.size):
            counts[RxStatus(rx.check(bytes(data[i, :dlc[i]])))] += 1
        n = t.size
        crc, stale, jump = (counts[RxStatus.CRC_ERROR], counts[RxStatus.STALE],
                            counts[RxStatus.COUNTER_JUMP])
        detail = f"{n} frames: {crc} CRC errors, {stale} stale counters, {jump} counter jumps"
        if crc or stale > 0.01 * n:
            status = FAIL
        elif jump:
            status = WARN
            detail += " (frames lost on the way)"
        else:
            status = PASS
        report.add(f"{message.name} E2E", status, detail)


def _signal_cycle_s(trace: Any, name: str) -> float:
    for message in trace.db.messages:
        if any(sig.name == name for sig in message.signals):
            return (cycle_time_ns(message) or 1_000_000) / 1e9
    return 1e-3


def _check_sanity(report: Fitness, trace: Any, warmup_s: float,
                  sanity: dict[str, SanityRange]) -> None:
    """The rig's ``preflight.sanity`` ranges (the framework names no signal itself)."""
    for name, spec in sanity.items():
        if not trace.has(name):
            continue
        s = trace.signal(name)
        t = np.asarray(s.t_ns, dtype=np.int64)
        v = np.asarray(s.values, dtype=float)
        table = trace.choices(name)
        if table:
            _check_value_table(report, name, v, set(table.values()))
            continue
        keep = t >= int(warmup_s * 1e9)
        t, v = t[keep], v[keep]
        if v.size == 0:
            report.add(f"{name} sane", FAIL, "no value after the warm-up")
            continue
        problems = []
        if not np.all(np.isfinite(v)):
            problems.append("non-finite values")
        low = -np.inf if spec.low is None else spec.low
        high = np.inf if spec.high is None else spec.high
        if v.min() < low or v.max() > high:
            problems.append(f"outside [{low:g}, {high:g}]")
        max_rate = spec.max_rate
        if max_rate is not None and v.size > 1:
            dt = np.diff(t) / 1e9
            # At least the nominal cycle per step: frames sent back to back while the
            # bench catches up carry one cycle's change each, not a jump.
            rate = np.abs(np.diff(v)) / np.maximum(dt, _signal_cycle_s(trace, name))
            if rate.max() > max_rate:
                problems.append(f"jumps {rate.max():.0f}/s (max credible {max_rate:g}/s)")
        detail = (f"min {v.min():.3g}, max {v.max():.3g}, last {v[-1]:.3g} "
                  f"{trace.unit(name)}").strip()
        report.add(f"{name} sane", FAIL if problems else PASS,
                   detail + (": " + "; ".join(problems) if problems else ""))


def _check_value_table(report: Fitness, name: str, values: np.ndarray,
                       valid: set[Any]) -> None:
    seen = sorted({int(x) for x in np.unique(values)})
    bad = [x for x in seen if x not in valid]
    report.add(f"{name} sane", FAIL if bad or not len(values) else PASS,
               f"values seen: {seen}" + (f"; not in the value table: {bad}" if bad else ""))
