"""Offline judging: a scenario's expectations evaluated on a recorded trace.

``hil check TRACE --scenario S.yaml`` reads a recorded CAN log (BLF, ASC, candump log, MF4
bus logging: :mod:`hil.trace.logs`, decoded through the rig's DBC or ``--dbc``) and
evaluates the scenario's expectations on it with the same code as ``hil run``
(:func:`hil.scenario.expect.evaluate`), so a trace recorded by ``hil ecu``,
``python -m can.logger``, CANoe or a vehicle logger is judged as a run would be.

What makes sense without stimulus is judged: always, never, eventually, latency, period,
value, settle on DBC signals. The scenario's steps are not played (the recording is what
happened); an expectation that reads plant quantities (not on the bus) or task budgets
(ECU execution times, not on the bus) is INCONCLUSIVE with that reason, never a pass.

Time: the scenario's t=0 is ``start`` into the log — ``first``: the log's own t=0 (its
first frame for a wall-clock log, 0 for one in relative time such as a SIL run's), a number
of seconds after that, or ``last-segment``: where the plant's fastest message last restarted
after a pause (how a ``hil run`` on a wall rig shows on the bus: preflight, a pause, then
the scenario). The trace is cut to the scenario's duration from there. Every verdict names
the trace's timestamp source.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hil.bench.preflight import InconclusiveVerdict
from hil.config.rig import RigConfig, load_rig, resolve_rig_path
from hil.errors import ConfigError, TraceError
from hil.nodes import PLANT
from hil.run.runner import ScenarioResult, _safe, _write_artifacts, load
from hil.scenario.expect import Verdict, evaluate
from hil.scenario.model import Budget, Scenario
from hil.trace.core import Trace
from hil.trace.logs import LogTrace, Progress, read_log
from hil.wire.dbc import cycle_time_ns, load_dbc

__all__ = ["check_trace", "START_CHOICES"]

START_CHOICES = ("first", "last-segment")


def _segment_start(trace: Trace, duration_ns: int, plant_node: str = PLANT) -> tuple[int, str]:
    """Where the plant's fastest cyclic message last restarted after a pause of more than
    ten cycles and then ran for (90 % of) the scenario's duration: the last scenario run in
    the log, not a stall inside it nor the preflight before it."""
    msgs = [m for m in trace.db.messages if plant_node in m.senders and cycle_time_ns(m)]
    if not msgs:
        raise TraceError(f"--start last-segment: the DBC has no cyclic {plant_node} message")
    fastest = min(msgs, key=lambda m: cycle_time_ns(m) or 0)
    t = trace.frames(fastest).t_end_ns
    if not t.size:
        raise TraceError(f"--start last-segment: the log has no {fastest.name} frame")
    gaps = np.flatnonzero(np.diff(t) > 10 * (cycle_time_ns(fastest) or 0))
    starts = [int(t[0])] + [int(t[g + 1]) for g in gaps.tolist()]
    long_enough = [s for s in starts if int(t[-1]) - s >= 0.9 * duration_ns]
    first = long_enough[-1] if long_enough else starts[0]
    return first, (f"where {fastest.name} last restarted for the scenario's duration "
                   f"({len(starts) - 1} pause(s) of more than 10 cycles in the log)")


def _window(logged: LogTrace, start_ns: int, duration_ns: int) -> Trace:
    """The log's frames from ``start_ns`` for ``duration_ns``, re-based to t=0 there."""
    src = logged.trace
    out = Trace(src.db, nodes=src.nodes, chunk_frames=65536)
    end = start_ns + duration_ns
    for view in src.iter_frames():
        keep = np.flatnonzero((view.t_end_ns >= start_ns) & (view.t_end_ns <= end))
        for i in keep.tolist():
            d = int(view.dlc[i])
            out.add_frame(int(view.t_end_ns[i]) - start_ns, int(view.t_start_ns[i]) - start_ns,
                          int(view.id[i]), view.data[i, :d].tobytes(), int(view.sender[i]),
                          int(view.flags[i]))
    out.start_time_s = src.start_time_s + start_ns / 1e9
    out.close()
    return out


def _not_judged(v: Verdict, reason: str) -> InconclusiveVerdict:
    return InconclusiveVerdict(passed=False, expectation=v.expectation, message=v.message,
                               t_ns=v.t_ns, observed=v.observed, bound=v.bound,
                               signals_involved=v.signals_involved, where=v.where,
                               measured_passed=False, reason=reason)


def check_trace(log: str | os.PathLike[str], scenario: str | os.PathLike[str] | Scenario, *,
                rig: str | os.PathLike[str] | RigConfig | None = None,
                dbc: str | os.PathLike[str] | None = None, start: str | float = "first",
                report_dir: str | os.PathLike[str] | None = None, plots: bool = True,
                progress: Progress | None = None) -> ScenarioResult:
    """Judge ``scenario``'s expectations on the recorded ``log``; a :class:`ScenarioResult`
    like :func:`hil.run.runner.run_scenario`'s (``error`` None, no steps), whose artifacts
    (result.json, plots) go to ``report_dir/<scenario>/``."""
    rig_ref = Path(rig.path) if isinstance(rig, RigConfig) else (
        Path(rig) if rig is not None else None)
    scn = scenario if isinstance(scenario, Scenario) else load(Path(scenario), rig=rig_ref)
    rig_cfg = rig if isinstance(rig, RigConfig) else load_rig(
        resolve_rig_path(rig_ref if rig_ref is not None else scn.rig, scn.file))
    db = load_dbc(dbc if dbc is not None else rig_cfg.dbc)
    if isinstance(start, str) and start not in START_CHOICES:
        try:
            start = float(start)
        except ValueError:
            raise ConfigError(f"--start {start!r}: expected {', '.join(START_CHOICES)} or "
                              "seconds after the first frame") from None
    if not isinstance(start, str) and not (np.isfinite(start) and start >= 0):
        raise ConfigError(f"--start {start}: seconds must be a number >= 0")
    wall0 = time.perf_counter()
    logged = read_log(log, db, progress=progress)
    if start == "first":
        start_ns = 0
        how = ("the log's first frame" if logged.start_time_s else "the log's t=0")
    elif start == "last-segment":
        start_ns, how = _segment_start(logged.trace, scn.duration_ns)
    else:
        start_ns = round(float(start) * 1e9)
        how = f"{float(start):g} s into the log"
    trace = _window(logged, start_ns, scn.duration_ns)
    if not trace.n_frames:
        raise TraceError(f"{logged.path}: no frame in the scenario's window ({how}, "
                         f"{scn.duration_ns / 1e9:g} s)")
    stamp = f"recorder timestamps of {logged.path.name}, t=0 at {how}"
    quantities = set(getattr(scn, "quantities", ()) or ())
    verdicts: list[Verdict] = []
    for exp in scn.expect:
        v = evaluate(exp, trace, {})
        missing = sorted(n for n in exp.names if not trace.has(n))
        if isinstance(exp, Budget):
            verdicts.append(_not_judged(v, "a task budget needs the ECU's execution times, "
                                        "which a recording does not hold"))
        elif missing:
            plant = [n for n in missing if "." in n or n in quantities]
            what = "plant quantities" if plant else "signals"
            verdicts.append(_not_judged(v, f"reads {what} not on the bus: {', '.join(missing)}"))
        else:
            verdicts.append(dataclasses.replace(v, message=f"{v.message} [timestamps: {stamp}]"))
    wall = time.perf_counter() - wall0
    result = ScenarioResult(scn, verdicts, [], None, trace.end_ns, wall)
    result.figures = {"check": {"log": str(logged.path), "frames": logged.frames,
                                "timestamps": logged.timestamp_source, "start": how,
                                "start_offset_s": start_ns / 1e9,
                                "start_time_s": trace.start_time_s,
                                "frames_judged": trace.n_frames}}
    if report_dir is not None:
        out_dir = Path(report_dir) / _safe(scn.name)
        _write_artifacts(result, SimpleNamespace(trace=trace, rig=rig_cfg), out_dir, (), plots)
    return result


def check_table(result: ScenarioResult) -> str:
    """One line per expectation, as ``hil run`` prints failures."""
    info = result.figures.get("check", {})
    lines = [f"check of {info.get('log')}: scenario {result.scenario.name}, "
             f"{info.get('frames_judged')} of {info.get('frames')} frames judged "
             f"(t=0 at {info.get('start')}, {result.scenario.duration_ns / 1e9:g} s)",
             f"  timestamps: {info.get('timestamps')}"]
    for v in result.verdicts:
        lines.append(f"  {v}")
    status = result.status.upper()
    n_pass = sum(v.passed for v in result.verdicts)
    lines.append(f"{status}: {n_pass} of {len(result.verdicts)} expectations passed")
    return "\n".join(lines)
