"""Rig fitness on every verdict: a FAIL the ECU did not cause is never reported as a FAIL.

The wall clock records every stall of the bench (an event that ran more than 1 ms late:
:attr:`hil.bench.clock.WallClockEnvironment.stalls`). A stall longer than the ECU's
message supervision tolerates (its timeout, less one cycle: the frames due in the stall
arrive late by that much) can latch a lost-frame fault, a LIMP and everything that
follows from it; a stall longer than half a timing bound can move a measured latency
or period past it. Either way the verdict says more about the bench than the ECU, so
:func:`qualify_stalls` turns every *failed* verdict that such a stall precedes into
INCONCLUSIVE naming the stall's time and size (the measured verdict is kept beside it).
A passed verdict stays passed: a bench stall cannot make a held expectation true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hil.bench.preflight import InconclusiveVerdict, _time_bound, is_inconclusive
from hil.config.rig import RigConfig
from hil.config.units import format_time_ns
from hil.scenario.expect import Verdict
from hil.wire.dbc import cycle_time_ns


def ecu_stall_tolerance_ns(rig: RigConfig, db: Any) -> int | None:
    """The longest bench stall the ECU's message supervision tolerates without a timeout:
    ``timeout_cycles`` x cycle - cycle of the fastest cyclic message it receives (the rig's
    ecu_config, which hil ecu runs); None when the rig names no ECU configuration."""
    if rig.ecu_config is None:
        return None
    from hil.nodes.ecu_config import load_ecu_config

    config = load_ecu_config(rig.ecu_config, db)
    tolerances = []
    for message in db.messages:
        cycle = cycle_time_ns(message)
        if cycle and config.node not in (message.senders or ()) \
                and config.node in _receivers(message):
            tolerances.append(int(cycle * config.timeout_cycles) - cycle)
    return min(tolerances) if tolerances else None


def _receivers(message: Any) -> set[str]:
    return {r for s in message.signals for r in (s.receivers or ())}


def qualify_stalls(verdicts: Sequence[Verdict], stalls: Sequence[tuple[int, int]], *,
                   tolerance_ns: int | None, end_ns: int) -> list[Verdict]:
    """Failed verdicts a bench stall could have caused -> INCONCLUSIVE naming the stall.

    ``stalls``: (bench time, lateness) in ns. A stall counts against a failed verdict when
    it happened before the violation (for a timing expectation: before the violation plus
    its bound; before the end for a verdict without a time)
    and was longer than ``tolerance_ns`` (the ECU's supervision) or, for a timing
    expectation, longer than half its bound.
    """
    out: list[Verdict] = []
    for v in verdicts:
        if v.passed or is_inconclusive(v):
            out.append(v)
            continue
        limit = tolerance_ns
        bound = _time_bound(v.expectation)
        what = "the ECU's message supervision tolerates"
        if bound is not None and (limit is None or bound // 2 < limit):
            limit, what = bound // 2, f"half the {format_time_ns(bound)} timing bound resolves"
        if limit is None:
            out.append(v)
            continue
        # A timing expectation is decided over [its cause, cause + bound]: a stall inside
        # that window counts too (a reaction the stall delayed past the bound).
        until = end_ns if v.t_ns is None else v.t_ns + (bound or 0)
        culprits = [(t, late) for t, late in stalls if t <= until and late > limit]
        if not culprits:
            out.append(v)
            continue
        t, late = max(culprits, key=lambda s: s[1])
        others = f"; {len(culprits) - 1} more before it" if len(culprits) > 1 else ""
        reason = (f"the bench stalled {format_time_ns(late)} at {t / 1e9:.3f} s, more than the "
                  f"{format_time_ns(limit)} {what}{others}: the failure may be the bench's, "
                  "not the ECU's")
        out.append(InconclusiveVerdict(
            passed=False, expectation=v.expectation, message=v.message, t_ns=v.t_ns,
            observed=v.observed, bound=v.bound, signals_involved=v.signals_involved,
            where=v.where, measured_passed=False, reason=reason))
    return out
