"""Evaluation of expectations over a finished trace: one :class:`Verdict` per expectation.

Everything here is a function of the trace (docs/trace-api.md) and, for task budgets, of
the measured task execution times; nothing depends on how the run was clocked, so the same
scenario gives the same verdicts in SIL and on a bench. Conditions are evaluated vectorised
on the sample-and-hold alignment of the signals they read (hil.scenario.align): the union
of their sample times, which is every instant at which a condition can change.

Messages read like a test engineer's note, not like a Python assertion: which expectation,
when, what was observed against which bound, and (where it helps) how often.

Every verdict also carries a robustness *margin*, the quantitative semantics of signal
temporal logic in the expectation's own unit: positive = held with that much room, negative
= violated by that much, 0 = on the boundary. Each kind's semantics is written next to its
evaluation below (docs/search.md lists them); conditions use
:meth:`hil.scenario.expr.Expr.robustness`.
"""

from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hil.config.units import format_time_ns
from hil.scenario.align import align, hold
from hil.scenario.expr import Expr
from hil.scenario.model import (
    Always,
    Budget,
    Eventually,
    Expectation,
    Latency,
    Never,
    Period,
    Settle,
    Value,
    q,
)

__all__ = ["Verdict", "TraceLike", "evaluate", "evaluate_all", "format_margin",
           "condition_margin", "verdict_summary"]

Where = tuple[str, int, int]


class TraceLike(Protocol):
    """The part of ``hil.trace.Trace`` expectations read."""

    @property
    def end_ns(self) -> int: ...

    def signal(self, name: str) -> Any: ...
    def frames(self, message: str) -> Any: ...
    def choices(self, name: str) -> Mapping[str, float] | None: ...
    def has(self, name: str) -> bool: ...


@dataclass(frozen=True)
class Verdict:
    """The outcome of one expectation.

    ``t_ns``: when it was decided (the violation, or the worst case when it passed);
    ``observed`` and ``bound``: the figure compared and its limit, in ns for time
    expectations (latency, eventually, period, budget) and in the signal's unit otherwise
    (None when there is no single figure).
    """

    passed: bool
    expectation: Expectation
    message: str
    t_ns: int | None = None
    observed: float | None = None
    bound: float | None = None
    signals_involved: list[str] = field(default_factory=list)
    where: Where | None = None
    #: Signed robustness margin (None where nothing was measured, e.g. no occurrence of a
    #: latency's cause) in ``margin_unit``: "ns" for time kinds, the signal's unit, or
    #: "range" (a fraction of the DBC range: conditions over signals of different units).
    margin: float | None = None
    margin_unit: str = ""
    #: What the margin is compared against to rank verdicts of different units: the bound
    #: of a time kind, the band of settle, the DBC range of a signal, 1 for "range".
    margin_scale: float | None = None

    def __str__(self) -> str:
        where = ":".join(map(str, self.where)) + ": " if self.where else ""
        return f"{where}{'PASS' if self.passed else 'FAIL'} {self.message}"

    @property
    def relative_margin(self) -> float | None:
        """The margin as a fraction of ``margin_scale`` (None when either is unknown)."""
        if self.margin is None or not self.margin_scale:
            return None
        return self.margin / self.margin_scale

    @property
    def margin_text(self) -> str:
        """The margin as an engineer reads it: +764 us, -8 kPa, +3.5 % of range, or -."""
        return format_margin(self.margin, self.margin_unit)


def verdict_summary(v: Verdict) -> dict[str, Any]:
    """A verdict as result.json, summary.json and the HTML summary hold it (JSON-able; the
    same for YAML and Python scenarios). An inconclusive verdict (hil.bench.preflight)
    says what was measured and why the rig cannot vouch for it."""
    inconclusive = bool(getattr(v, "inconclusive", False))
    return {"kind": v.expectation.kind, "passed": v.passed,
            "status": "inconclusive" if inconclusive else "pass" if v.passed else "fail",
            "message": v.message + (
                f" (measured {'PASS' if getattr(v, 'measured_passed', False) else 'FAIL'}; "
                f"{getattr(v, 'reason', '')})" if inconclusive else ""),
            "t_s": None if v.t_ns is None else v.t_ns / 1e9,
            "where": list(v.where) if v.where else None,
            "label": v.expectation.label,
            "margin": v.margin, "margin_unit": v.margin_unit,
            "margin_text": v.margin_text,
            "relative_margin": v.relative_margin}


def format_margin(margin: float | None, unit: str) -> str:
    if margin is None or np.isnan(margin):
        return "-"
    if np.isinf(margin):
        return "+inf" if margin > 0 else "-inf"
    sign = "-" if margin < 0 else "+"
    if unit == "ns":
        return sign + format_time_ns(int(round(abs(margin))))
    if unit == "range":
        return f"{sign}{abs(margin) * 100:.3g} % of range"
    return f"{sign}{abs(margin):.6g}" + (f" {unit}" if unit else "")


def evaluate(expectation: Expectation, trace: TraceLike,
             task_times: Mapping[str, np.ndarray] | None = None) -> Verdict:
    """Judge one expectation over a finished trace."""
    missing = [n for n in sorted(expectation.names) if not trace.has(n)]
    if missing:
        return _verdict(expectation, False, f"{expectation.label}: the trace has no "
                        f"{', '.join(missing)} (not recorded on this rig?)")
    handler = _HANDLERS.get(type(expectation))
    if handler is None:
        raise TypeError(f"no evaluation for {type(expectation).__name__}")
    verdict = handler(expectation, trace, task_times or {})
    if verdict.margin is None:
        return verdict
    return dataclasses.replace(verdict, margin_scale=_margin_scale(expectation,
                                                                    verdict.margin_unit, trace))


def evaluate_all(expectations: Iterable[Expectation], trace: TraceLike,
                 task_times: Mapping[str, np.ndarray] | None = None) -> list[Verdict]:
    return [evaluate(e, trace, task_times) for e in expectations]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

def _verdict(exp: Expectation, passed: bool, message: str, t_ns: int | None = None,
             observed: float | None = None, bound: float | None = None,
             margin: float | None = None, unit: str = "") -> Verdict:
    if margin is not None:
        margin = float(margin) + 0.0  # -0.0 is the boundary, +0
        if np.isnan(margin):
            margin = None
    return Verdict(passed=passed, expectation=exp, message=message,
                   t_ns=None if t_ns is None else int(t_ns),
                   observed=None if observed is None else float(observed),
                   bound=None if bound is None else float(bound),
                   signals_involved=sorted(exp.names), where=exp.where,
                   margin=margin, margin_unit=unit)


def _margin_scale(exp: Expectation, unit: str, trace: TraceLike) -> float | None:
    """The reference a margin is ranked against (Verdict.margin_scale)."""
    if isinstance(exp, Latency | Budget):
        return float(exp.max_ns)
    if isinstance(exp, Eventually):
        return float(exp.within_ns)
    if isinstance(exp, Period):
        return float(exp.jitter_ns or exp.nominal_ns)
    if isinstance(exp, Settle):
        return float(exp.band)
    if unit == "range":
        return 1.0
    names = sorted(exp.names)
    if len(names) != 1:
        return None
    limits = _limits(trace, names[0])
    if isinstance(exp, Value) and exp.equals is not None:
        # an equality is ranked in steps of its resolution (or tolerance band)
        step = max(2 * exp.tolerance, limits[2] if limits else 0.0)
        return step or None
    if isinstance(exp, Never | Always) and exp.condition.operators <= {"==", "!="}:
        return limits[2] if limits and limits[2] > 0 else None   # equalities: in steps
    return _span(limits)


def _unit_of(trace: TraceLike, name: str) -> str:
    unit = getattr(trace, "unit", None)
    try:
        return str(unit(name)) if callable(unit) else ""
    except (KeyError, ValueError):
        return ""


def _limits(trace: TraceLike, name: str) -> tuple[float | None, float | None, float] | None:
    """(minimum, maximum, resolution) of a DBC signal; None for a plant quantity."""
    limits = getattr(trace, "signal_limits", None)
    try:
        return limits(name) if callable(limits) else None
    except (KeyError, ValueError):
        return None


def _resolution(trace: TraceLike, name: str) -> float:
    """The DBC resolution (scale) of a signal; 0 for a plant quantity (not quantised)."""
    limits = _limits(trace, name)
    return float(limits[2]) if limits and limits[2] > 0 and np.isfinite(limits[2]) else 0.0


def _decimals(resolution: float) -> int | None:
    """Decimal places that show a value of this resolution exactly (0.002 -> 3, 0.5 -> 1,
    1 -> 0); None when not quantised or when the scale has no short decimal form."""
    if resolution <= 0:
        return None
    exponent = decimal.Decimal(repr(resolution)).normalize().as_tuple().exponent
    places = max(0, -int(exponent))
    return places if places <= 9 else None


def _shown(value: float, resolution: float) -> str:
    """A value at its signal's precision: 0.98, not 0.9800000000000001 (.6g elsewhere)."""
    places = _decimals(resolution)
    if places is None or not np.isfinite(value):
        return f"{value:.6g}"
    return f"{value:.{places}f}"


def _on_grid(margin: float, resolution: float) -> float:
    """A margin in a quantised signal's unit without the float noise of the subtraction
    that made it (|0.98 - 1| - 0.02 = 1.8e-17): rounded to 1/100 of the resolution's
    decimal places."""
    places = _decimals(resolution)
    return float(round(margin, places + 2)) if places is not None else margin


def _span(limits: tuple[float | None, float | None, float] | None) -> float | None:
    if limits is None or limits[0] is None or limits[1] is None or limits[1] <= limits[0]:
        return None
    return limits[1] - limits[0]


def _measure(trace: TraceLike, exprs: Iterable[Expr]) -> tuple[dict[str, tuple[float, float]],
                                                               str]:
    """How a condition's distances are measured (Expr.robustness): in the unit of its
    signals when they share one, else each comparison divided by the DBC range of its
    signal (maximum - minimum; 1 for a plant quantity or a signal without a range) and the
    unit is "range"; equalities get half the DBC resolution of room."""
    names = sorted(set().union(*(e.names for e in exprs)))
    units = {_unit_of(trace, n) for n in names}
    normalise = len(units) > 1
    measure: dict[str, tuple[float, float]] = {}
    for n in names:
        limits = _limits(trace, n)
        if limits is None:
            continue
        span = _span(limits) if normalise else None
        measure[n] = (span or 1.0, limits[2])
    if normalise:
        return measure, "range"
    return measure, units.pop() if units else ""


def condition_margin(cond: Expr, trace: TraceLike,
                     values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """Per-sample robustness of ``cond`` over aligned ``values``, and its unit."""
    measure, unit = _measure(trace, [cond])
    return np.asarray(cond.robustness(values, measure), dtype=np.float64), unit


def _t(ns: int | float) -> str:
    """A time stamp as engineers read it: t=1.2345 s (microsecond resolution)."""
    text = f"{ns / 1e9:.6f}".rstrip("0").rstrip(".")
    return f"t={text} s"


def _dt(ns: int | float) -> str:
    return format_time_ns(int(round(ns)))


def _values_at(values: Mapping[str, np.ndarray], i: int) -> str:
    return ", ".join(f"{n}={values[n][i]:.6g}" for n in sorted(values))


def _rising(mask: np.ndarray) -> np.ndarray:
    """Indices where a condition becomes true (true at the first sample counts)."""
    previous = np.concatenate(([False], mask[:-1]))
    return np.flatnonzero(mask & ~previous)


def _window(t: np.ndarray, during: tuple[int, int | None] | None,
            end_ns: int) -> tuple[int, int, int, int]:
    """(i0, i1, start, end): samples i0..i1-1 cover [start, end]; i0 is the sample whose
    value holds at ``start`` (sample and hold), so the state at the window start counts."""
    start, end = (0, end_ns) if during is None else (during[0],
                                                     end_ns if during[1] is None else during[1])
    i0 = max(int(np.searchsorted(t, start, side="right")) - 1, 0)
    i1 = int(np.searchsorted(t, end, side="right"))
    return i0, i1, start, end


def _defined(values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    ok = np.ones(n, dtype=bool)
    for v in values.values():
        ok &= ~np.isnan(v)
    return ok


def _describe_value(value: float, table: Mapping[str, float] | None,
                    resolution: float = 0.0) -> str:
    if table:
        for label, number in table.items():
            if number == value:
                return f"{label} ({value:g})"
    return _shown(value, resolution)


def _choices(trace: TraceLike, name: str) -> Mapping[str, float] | None:
    try:
        return trace.choices(name)
    except (KeyError, ValueError):
        return None


# --------------------------------------------------------------------------------------
# always / never
# --------------------------------------------------------------------------------------

def _never(exp: Never, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    return _invariant(exp, exp.condition, trace, want=False)


def _always(exp: Always, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    return _invariant(exp, exp.condition, trace, want=True)


def _invariant(exp: Never | Always, cond: Expr, trace: TraceLike, *, want: bool) -> Verdict:
    t, values = align(trace, cond.names)
    i0, i1, start, end = _window(t, exp.during, trace.end_ns)
    mask = np.asarray(cond.truth(values), dtype=bool)[i0:i1]
    defined = _defined(values, len(t))[i0:i1]
    tt = t[i0:i1]
    # Margin: always c = min over the window of rho(c); never c = always not c =
    # min of -rho(c) (samples before every signal was seen are not judged).
    rho, unit = condition_margin(cond, trace, values)
    rho = (rho if want else -rho)[i0:i1][defined]
    margin = float(rho.min()) if rho.size else None
    if not defined.any():
        return _verdict(exp, False, f"{exp.label}: no samples of "
                        f"{', '.join(sorted(cond.names))} between {_t(start)} and {_t(end)}; "
                        "nothing to judge")
    # Always is judged from the moment every signal it reads has been seen; before that
    # the condition is unknown, not false (a 10 ms frame cannot be there at t=0).
    bad = np.flatnonzero(defined & (mask != want))
    single = next(iter(cond.names)) if len(cond.names) == 1 else None
    if len(bad) == 0:
        checked = int(defined.sum())
        first_seen = max(int(tt[np.argmax(defined)]), start)
        held = "held" if want else "not true"
        return _verdict(exp, True, f"{exp.label}: {held} from {_t(first_seen)} to {_t(end)} "
                        f"({checked} samples)", margin=margin, unit=unit)
    k = int(bad[0])
    t_bad = max(int(tt[k]), start)
    # How long the violation lasted: up to the next sample where it no longer holds.
    after = np.flatnonzero(defined[k:] & (mask[k:] == want))
    until = int(tt[k + after[0]]) if len(after) else end
    here = {n: v[i0:i1] for n, v in values.items()}
    what = "violated" if not want else "false"
    observed = float(here[single][k]) if single else None
    return _verdict(exp, False, f"{exp.label} {what} at {_t(t_bad)}: "
                    f"{_values_at(here, k)} (for {_dt(until - t_bad)}; "
                    f"{len(bad)} of {int(defined.sum())} samples)",
                    t_ns=t_bad, observed=observed, margin=margin, unit=unit)


# --------------------------------------------------------------------------------------
# latency
# --------------------------------------------------------------------------------------

def _latency(exp: Latency, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    t, values = align(trace, exp.cause.names | exp.reaction.names)
    cause = np.asarray(exp.cause.truth(values), dtype=bool)
    reaction = np.flatnonzero(np.asarray(exp.reaction.truth(values), dtype=bool))
    edges = _rising(cause)
    if exp.during is not None:
        _i0, _i1, start, end = _window(t, exp.during, trace.end_ns)
        edges = edges[(t[edges] >= start) & (t[edges] <= end)]
    n = len(edges)
    if n == 0:
        text = f"{exp.label}: {q(exp.cause)} never became true (0 occurrences)"
        if exp.allow_none:
            return _verdict(exp, True, text + "; allowed (allow_none)")
        return _verdict(exp, False, text + "; nothing was measured, so this cannot pass "
                        "(set allow_none: true if that is intended)")
    # The reaction may already hold at the cause's own sample (latency 0): a cut that is
    # still active from an earlier occurrence is a reaction in place.
    k = np.searchsorted(reaction, edges, side="left")
    found = k < len(reaction)
    j = reaction[np.minimum(k, max(len(reaction) - 1, 0))] if len(reaction) else edges
    latency = np.where(found, t[j] - t[edges], np.iinfo(np.int64).max)
    late = np.flatnonzero(~found | (latency > exp.max_ns))
    measured = latency[found]
    # Margin: max - worst latency. An occurrence without reaction counts as lasting at
    # least to the end of the trace, so its margin is max - (end - cause) (at most -1 ns:
    # it failed whatever the time left).
    unreacted = trace.end_ns - t[edges[~found]]
    margin = float(exp.max_ns - int(measured.max())) if len(measured) else np.inf
    if len(unreacted):
        margin = min(margin, float(min(exp.max_ns - int(unreacted.max()), -1)))
    worst = int(measured.max()) if len(measured) else None
    worst_text = f"worst {_dt(worst)}" if worst is not None else "no reaction measured"
    summary = f"{n} occurrence{'s' if n != 1 else ''}, {worst_text}"
    if len(late) == 0:
        w = int(np.argmax(latency))
        return _verdict(exp, True, f"{exp.label}: {summary} at {_t(t[edges[w]])}",
                        t_ns=int(t[edges[w]]), observed=worst, bound=exp.max_ns,
                        margin=margin, unit="ns")
    first = int(late[0])
    t_cause = int(t[edges[first]])
    missing = int((~found).sum())
    if not found[first]:
        return _verdict(exp, False, f"latency {q(exp.cause)} -> {q(exp.reaction)}: no "
                        f"reaction to the occurrence at {_t(t_cause)} before the end of the "
                        f"trace at {_t(trace.end_ns)} (max {_dt(exp.max_ns)}); {summary}"
                        + (f", {missing} without reaction" if missing > 1 else ""),
                        t_ns=t_cause, observed=worst, bound=exp.max_ns, margin=margin,
                        unit="ns")
    extra = f", {missing} without reaction" if missing else ""
    too_late = len(late) - missing
    return _verdict(exp, False, f"latency {q(exp.cause)} -> {q(exp.reaction)} was "
                    f"{_dt(latency[first])} at {_t(t_cause)} (max {_dt(exp.max_ns)}); "
                    f"{summary}, {too_late} over the limit{extra}",
                    t_ns=t_cause, observed=float(latency[first]), bound=exp.max_ns,
                    margin=margin, unit="ns")


# --------------------------------------------------------------------------------------
# eventually
# --------------------------------------------------------------------------------------

def _eventually(exp: Eventually, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    names = set(exp.condition.names)
    if isinstance(exp.after, Expr):
        names |= exp.after.names
    t, values = align(trace, names)
    holds = np.flatnonzero(np.asarray(exp.condition.truth(values), dtype=bool))
    if isinstance(exp.after, Expr):
        edges = _rising(np.asarray(exp.after.truth(values), dtype=bool))
        if len(edges) == 0:
            text = f"{exp.label}: {q(exp.after)} never became true"
            if exp.allow_none:
                return _verdict(exp, True, text + "; allowed (allow_none)")
            return _verdict(exp, False, text + ", so nothing was measured (set allow_none: "
                            "true if that is intended)")
        starts = t[edges] if exp.each else t[edges[:1]]
    else:
        starts = np.array([exp.after or 0], dtype=np.int64)
    # First sample at or after each start where the condition holds, counting the state
    # held at the start itself.
    held = np.maximum(np.searchsorted(t, starts, side="right") - 1, 0)
    k = np.searchsorted(holds, held, side="left")
    found = k < len(holds)
    j = holds[np.minimum(k, max(len(holds) - 1, 0))] if len(holds) else held
    t_true = np.maximum(t[j] if len(t) else starts, starts)
    delay = np.where(found, t_true - starts, np.iinfo(np.int64).max)
    bad = np.flatnonzero(~found | (delay > exp.within_ns))
    n = len(starts)
    # Margin: within - worst delay; never true after a start counts as a delay of at
    # least the rest of the trace (at most -1 ns: not reached is a failure).
    waited = np.where(found, delay, trace.end_ns - starts)
    margin = float((exp.within_ns - waited).min())
    if not found.all():
        margin = min(margin, float(min(exp.within_ns - (trace.end_ns - starts[~found]).max(),
                                       -1)))
    origin = ("" if exp.after is None or isinstance(exp.after, Expr)
              else f" (from {_t(exp.after)})")
    if len(bad) == 0:
        w = int(np.argmax(delay))
        count = f"; {n} occurrences, worst {_dt(delay[w])}" if n > 1 else ""
        return _verdict(exp, True, f"{exp.label}: true at {_t(t_true[w])}, {_dt(delay[w])} "
                        f"after {_t(starts[w])}{count}{origin}", t_ns=int(t_true[w]),
                        observed=float(delay[w]), bound=exp.within_ns, margin=margin,
                        unit="ns")
    b = int(bad[0])
    start = int(starts[b])
    count = f"; {len(bad)} of {n} occurrences late" if n > 1 else ""
    if not found[b]:
        return _verdict(exp, False, f"{exp.label}: not true at any time after "
                        f"{_t(start)} (trace ends at {_t(trace.end_ns)}){count}",
                        t_ns=start + exp.within_ns, bound=exp.within_ns, margin=margin,
                        unit="ns")
    return _verdict(exp, False, f"{exp.label}: not true until {_t(t_true[b])}, "
                    f"{_dt(delay[b])} after {_t(start)}{count}",
                    t_ns=int(t_true[b]), observed=float(delay[b]), bound=exp.within_ns,
                    margin=margin, unit="ns")


# --------------------------------------------------------------------------------------
# period, budget
# --------------------------------------------------------------------------------------

def _period(exp: Period, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    t_end = np.asarray(trace.frames(exp.message).t_end_ns, dtype=np.int64)
    if exp.during is not None:
        start, end = exp.during[0], trace.end_ns if exp.during[1] is None else exp.during[1]
        t_end = t_end[(t_end >= start) & (t_end <= end)]
    if len(t_end) < 2:
        return _verdict(exp, False, f"{exp.label}: only {len(t_end)} frame"
                        f"{'s' if len(t_end) != 1 else ''} of {exp.message} on the bus; "
                        "a period needs two")
    intervals = np.diff(t_end)
    lo, hi = exp.nominal_ns - exp.jitter_ns, exp.nominal_ns + exp.jitter_ns
    mean = float(intervals.mean())
    stats = (f"mean {_dt(mean)}, min {_dt(intervals.min())}, max {_dt(intervals.max())}, "
             f"p99 {_dt(np.percentile(intervals, 99))} over {len(intervals)} intervals "
             f"(nominal {_dt(exp.nominal_ns)} ± {_dt(exp.jitter_ns)})")
    deviation = np.abs(intervals - exp.nominal_ns)
    worst = int(np.argmax(deviation))
    # Margin: jitter - the largest deviation of an interval (or of the mean) from nominal.
    margin = float(exp.jitter_ns - max(float(deviation.max()), abs(mean - exp.nominal_ns)))
    observed = float(intervals[worst])
    bound = hi if observed >= exp.nominal_ns else lo
    outside = np.flatnonzero((intervals < lo) | (intervals > hi))
    if len(outside):
        k = int(outside[0])
        return _verdict(exp, False, f"period of {exp.message}: interval {_dt(intervals[k])} "
                        f"ending at {_t(t_end[k + 1])} is outside [{_dt(lo)}, {_dt(hi)}] "
                        f"({len(outside)} intervals outside); {stats}",
                        t_ns=int(t_end[k + 1]), observed=float(intervals[k]),
                        bound=hi if intervals[k] > hi else lo, margin=margin, unit="ns")
    if not lo <= mean <= hi:
        return _verdict(exp, False, f"period of {exp.message}: mean {_dt(mean)} is outside "
                        f"[{_dt(lo)}, {_dt(hi)}]; {stats}", observed=mean,
                        bound=hi if mean > hi else lo, margin=margin, unit="ns")
    return _verdict(exp, True, f"period of {exp.message}: {stats}",
                    t_ns=int(t_end[worst + 1]), observed=observed, bound=bound,
                    margin=margin, unit="ns")


def _budget(exp: Budget, _trace: TraceLike, task_times: Mapping[str, np.ndarray]) -> Verdict:
    times = task_times.get(exp.task)
    if times is None or len(times) == 0:
        known = ", ".join(sorted(task_times)) or "none"
        return _verdict(exp, False, f"{exp.label}: no execution times recorded for task "
                        f"{exp.task!r} (recorded: {known})")
    times = np.asarray(times, dtype=np.float64)
    worst = float(times.max())
    p99 = float(np.percentile(times, 99))
    stats = (f"max {_dt(worst)}, p99 {_dt(p99)}, mean {_dt(times.mean())} over "
             f"{len(times)} runs")
    observed = worst if exp.statistic == "max" else p99
    margin = exp.max_ns - observed  # the bound - the longest (or 99th-percentile) run
    allowed = f"{exp.statistic} allowed {_dt(exp.max_ns)}"
    if observed > exp.max_ns:
        over = int((times > exp.max_ns).sum())
        return _verdict(exp, False, f"budget of task {exp.task} exceeded: {stats} "
                        f"({allowed}; {over} runs over)", observed=observed, bound=exp.max_ns,
                        margin=margin, unit="ns")
    return _verdict(exp, True, f"budget of task {exp.task}: {stats} ({allowed})",
                    observed=observed, bound=exp.max_ns, margin=margin, unit="ns")


# --------------------------------------------------------------------------------------
# value, settle
# --------------------------------------------------------------------------------------

def _value(exp: Value, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    series = trace.signal(exp.signal)
    at = trace.end_ns if exp.at_ns is None else exp.at_ns
    when = f"at end ({_t(at)})" if exp.at_ns is None else f"at {_t(at)}"
    value = float(hold(np.asarray(series.t_ns, dtype=np.int64), series.values,
                       np.array([at]))[0])
    if np.isnan(value):
        return _verdict(exp, False, f"value of {exp.signal} {when}: no sample of "
                        f"{exp.signal} by then", t_ns=at)
    table = _choices(trace, exp.signal)
    step = _resolution(trace, exp.signal)
    shown = _describe_value(value, table, step)
    # Margin, in the signal's unit: the smallest of tolerance - |value - equals|,
    # value - min and max - value (an equality gets at least half the signal's DBC
    # resolution of room, as in Expr.robustness). Each bound is met within half the
    # resolution: a quantised value exactly on a bound is on it, whatever the float
    # arithmetic says (docs/scenarios.md, "Resolution").
    half = step / 2
    distance: dict[str, float] = {}
    room = []
    if exp.equals is not None:
        distance["equals"] = exp.tolerance - abs(value - exp.equals)
        room.append(max(exp.tolerance, half) - abs(value - exp.equals))
    if exp.min is not None:
        distance["min"] = value - exp.min
    if exp.max is not None:
        distance["max"] = exp.max - value
    room += [d for k, d in distance.items() if k != "equals"]
    margin, unit = _on_grid(min(room), step), _unit_of(trace, exp.signal)
    met = {k: _on_grid(d + half, step) >= 0 for k, d in distance.items()}
    problems = []
    bound = None
    if not met.get("equals", True):
        assert exp.equals is not None   # "equals" is measured only when it is given
        expected = (_describe_value(exp.equals, table, step) if exp.equals_label
                    else f"{exp.equals:g}")
        problems.append(f"expected {expected}"
                        + (f" ± {exp.tolerance:g}" if exp.tolerance else ""))
        bound = exp.equals
    if not met.get("min", True):
        problems.append(f"expected >= {exp.min:g}")
        bound = exp.min
    if not met.get("max", True):
        problems.append(f"expected <= {exp.max:g}")
        bound = exp.max
    if problems:
        return _verdict(exp, False, f"value of {exp.signal} {when} was {shown}, "
                        f"{' and '.join(problems)}", t_ns=at, observed=value, bound=bound,
                        margin=margin, unit=unit)
    return _verdict(exp, True, f"value of {exp.signal} {when} was {shown}", t_ns=at,
                    observed=value, bound=exp.equals if exp.equals is not None else None,
                    margin=margin, unit=unit)


def _settle(exp: Settle, trace: TraceLike, _tt: Mapping[str, np.ndarray]) -> Verdict:
    series = trace.signal(exp.signal)
    t = np.asarray(series.t_ns, dtype=np.int64)
    v = np.asarray(series.values, dtype=np.float64)
    until = trace.end_ns if exp.until_ns is None else exp.until_ns
    i0 = int(np.searchsorted(t, exp.by_ns, side="right")) - 1
    i1 = int(np.searchsorted(t, until, side="right"))
    target = f"{exp.signal} at {exp.target:g} ± {exp.band:g} by {_dt(exp.by_ns)}"
    if i0 < 0:
        return _verdict(exp, False, f"{target}: no sample of {exp.signal} by "
                        f"{_t(exp.by_ns)}", t_ns=exp.by_ns, bound=exp.band)
    step = _resolution(trace, exp.signal)
    deviation = np.abs(v[:i1] - exp.target)
    # In the band within half the DBC resolution, as every bound on a quantised signal
    # (docs/scenarios.md, "Resolution"): |0.98 - 1| = 0.020000000000000018 is on the band
    # of 0.02, one step further (0.978) is outside. NaN (a lost sensor) is outside.
    places = _decimals(step)
    slack = exp.band + step / 2 - deviation
    inside = (np.round(slack, places + 2) if places is not None else slack) >= 0
    window = deviation[i0:i1]
    worst = float(np.nanmax(window)) if np.isfinite(window).any() else float("nan")
    # Margin, in the signal's unit: band - the worst deviation from target over the window
    # (None when a sample there is NaN: a lost sensor has no distance).
    margin = (None if np.isnan(window).any() or not len(window)
              else _on_grid(exp.band - worst, step))
    unit = _unit_of(trace, exp.signal)
    outside = np.flatnonzero(~inside[i0:i1])
    # When it (last) entered the band for good: after the last sample outside it.
    out_all = np.flatnonzero(~inside)
    entered = int(t[out_all[-1] + 1]) if len(out_all) and out_all[-1] + 1 < i1 else (
        None if len(out_all) else int(t[0]))
    if len(outside) == 0:
        return _verdict(exp, True, f"{exp.signal} settled at {exp.target:g} ± {exp.band:g} "
                        f"from {_t(entered or t[0])} (by {_dt(exp.by_ns)}); worst deviation "
                        f"after {_dt(exp.by_ns)}: {_shown(worst, step)}", t_ns=entered,
                        observed=worst, bound=exp.band, margin=margin, unit=unit)
    k = i0 + int(outside[0])
    t_bad = max(int(t[k]), exp.by_ns)
    later = (f"; it entered the band for good at {_t(entered)}" if entered is not None
             and entered > exp.by_ns else "; it never stayed in the band")
    return _verdict(exp, False, f"{exp.signal} not settled at {exp.target:g} ± {exp.band:g} "
                    f"by {_dt(exp.by_ns)}: {_shown(float(v[k]), step)} at {_t(t_bad)}{later}",
                    t_ns=t_bad, observed=float(deviation[k]), bound=exp.band,
                    margin=margin, unit=unit)


_HANDLERS: dict[type[Expectation], Any] = {
    Never: _never, Always: _always, Latency: _latency, Eventually: _eventually,
    Period: _period, Budget: _budget, Value: _value, Settle: _settle,
}
