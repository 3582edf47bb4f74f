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

The ECU side stalls too when the ECU is a process on this machine (``hil ecu`` on a
loopback or virtual bus): :func:`ecu_stalls` finds them as gaps in the ECU's frames as the
bench received them (interface timestamps), and they weigh the same. A real ECU on a real
bus that falls silent is judged as it behaved (:func:`ecu_on_this_machine`). A step error
(a ``wait_until`` that gave up) after such a stall is INCONCLUSIVE too (:func:`qualify_error`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


#: A gap in an ECU message longer than its usual interval by more than this counts as a
#: stall of the ECU side (the bench's own overrun threshold: hil.bench.clock).
ECU_GAP_NS = 1_000_000


@dataclass(frozen=True)
class Stall:
    """A stretch the loop did not run as scheduled: ``t_ns`` (bench time it began),
    ``late_ns`` (its size) and who stalled (``bench`` or ``ecu``)."""

    t_ns: int
    late_ns: int
    who: str = "bench"

    def text(self) -> str:
        if self.who == "ecu":
            return (f"the ECU side stalled {format_time_ns(self.late_ns)} at "
                    f"{self.t_ns / 1e9:.3f} s (no frame from the ECU process for that long "
                    "beyond its cycle)")
        return f"the bench stalled {format_time_ns(self.late_ns)} at {self.t_ns / 1e9:.3f} s"


def as_stalls(raw: Sequence[tuple[int, int]], who: str = "bench") -> list[Stall]:
    return [Stall(int(t), int(late), who) for t, late in raw]


def ecu_on_this_machine(rig: RigConfig) -> bool:
    """True when the rig's ECU runs on this machine (hil ecu on a loopback or virtual bus,
    or one the bench starts itself): its stalls are this machine's scheduling, not the
    ECU's behaviour. A real ECU on a real bus that falls silent is judged as it behaved."""
    if rig.ecu == "local":
        return True
    if rig.session is not None and rig.session.restart == "process":
        return True
    interface = str(rig.bus.get("interface", ""))
    channel = str(rig.bus.get("channel", ""))
    return interface in ("udp_multicast", "virtual") or (
        interface == "socketcan" and channel.startswith("vcan"))


def ecu_stalls(trace: Any, db: Any, ecu_node: str, *, min_ns: int = ECU_GAP_NS) -> list[Stall]:
    """Stalls of the ECU side, as the bench's receptions show them: every gap between two
    received frames of one ECU message longer than that message's usual (median) interval
    by more than ``min_ns``, at the time the frame was due. The receive times are the
    interface's (kernel) timestamps, so a stall of the bench itself does not open a gap."""
    out: list[Stall] = []
    for message in db.messages:
        if ecu_node not in (message.senders or ()):
            continue
        t = np.asarray(trace.frames(message.name).t_end_ns, dtype=np.int64)
        if t.size < 3:
            continue
        gaps = np.diff(t)
        usual = int(np.median(gaps))
        late = gaps - usual
        for i in np.flatnonzero(late > min_ns):
            out.append(Stall(int(t[i]) + usual, int(late[i]), "ecu"))
    out.sort(key=lambda s: s.t_ns)
    return out


def stall_culprit(stalls: Sequence[Stall], until_ns: int, limit_ns: int) -> tuple[Stall, int] | None:
    """The largest stall at or before ``until_ns`` longer than ``limit_ns``, and how many
    such stalls there were; None if there was none."""
    culprits = [s for s in stalls if s.t_ns <= until_ns and s.late_ns > limit_ns]
    if not culprits:
        return None
    return max(culprits, key=lambda s: s.late_ns), len(culprits)


def qualify_error(stalls: Sequence[Stall], t_ns: int, *, tolerance_ns: int | None) -> str | None:
    """Why a step error at ``t_ns`` (a wait_until that gave up) may be the rig's doing: a
    stall before it longer than the ECU's supervision tolerates; None if there was none."""
    if tolerance_ns is None:
        return None
    found = stall_culprit(stalls, t_ns, tolerance_ns)
    if found is None:
        return None
    stall, n = found
    others = f"; {n - 1} more before it" if n > 1 else ""
    return (f"{stall.text()}, more than the {format_time_ns(tolerance_ns)} the ECU's message "
            f"supervision tolerates{others}: the step may have failed by the rig, not the ECU")


def qualify_stalls(verdicts: Sequence[Verdict], stalls: Sequence[tuple[int, int] | Stall], *,
                   tolerance_ns: int | None, end_ns: int) -> list[Verdict]:
    """Failed verdicts a bench stall could have caused -> INCONCLUSIVE naming the stall.

    ``stalls``: (bench time, lateness) in ns. A stall counts against a failed verdict when
    it happened before the violation (for a timing expectation: before the violation plus
    its bound; before the end for a verdict without a time)
    and was longer than ``tolerance_ns`` (the ECU's supervision) or, for a timing
    expectation, longer than half its bound.
    """
    known = [s if isinstance(s, Stall) else Stall(int(s[0]), int(s[1])) for s in stalls]
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
        found = stall_culprit(known, until, limit)
        if found is None:
            out.append(v)
            continue
        stall, n = found
        others = f"; {n - 1} more before it" if n > 1 else ""
        whose = ("this machine's scheduling of the ECU process" if stall.who == "ecu"
                 else "the bench's")
        reason = (f"{stall.text()}, more than the {format_time_ns(limit)} {what}{others}: the "
                  f"failure may be {whose}, not the ECU's")
        out.append(InconclusiveVerdict(
            passed=False, expectation=v.expectation, message=v.message, t_ns=v.t_ns,
            observed=v.observed, bound=v.bound, signals_involved=v.signals_involved,
            where=v.where, measured_passed=False, reason=reason))
    return out
