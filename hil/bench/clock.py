"""Clocks: the simulated environment and the wall-clock environment.

Both are simpy environments whose time unit is the **integer nanosecond**, so the
same processes (plant steps, ECU tasks, cyclic frames, scenario steps) run under
either (docs/architecture.md, "Clock"). Simulated time is a plain
``simpy.Environment``: events are processed as fast as the CPU allows and two
runs with the same inputs are bit-identical, because every delay is an integer
and time is never accumulated from floats.

The wall clock overrides one method, ``step()`` (like simpy's
``rt.py``): before an event is processed it waits until the event's wall time,
sleeping first and spinning only for the last ``spin_ns`` so the wake-up is
precise without burning a whole period. Real buses are polled while it waits
(``add_poller``), so a frame that arrives mid-wait is handled at the time it
arrived. Lateness of every timed event is recorded; an event later than
``overrun_ns`` counts as an overrun. Overrun policy: **catch up** — late events
run as soon as possible, in order, and the schedule is not shifted, so periodic
processes keep their phase (a skipped 1 ms step would be a lost plant step).
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import EmptySchedule, Infinity

NS_PER_S = 1_000_000_000


class NsEnvironment(simpy.Environment):
    """A simpy environment whose time is integer nanoseconds (both clocks are one).

    simpy declares time as ``int | float``; every delay the bench schedules is an integer
    count of nanoseconds, so time stays an integer. Only the declared type differs from
    simpy's own property (same cost: one attribute read).
    """

    @property
    def now(self) -> int:
        # simpy's SimTime is int | float; a cast() would cost a call on every read
        return self._now  # type: ignore[return-value]


def simulated_environment() -> NsEnvironment:
    """The SIL clock: a plain simpy environment counting integer nanoseconds."""
    return NsEnvironment(initial_time=0)


def seconds(ns: int) -> float:
    """Simulated nanoseconds to float seconds (derived, never accumulated)."""
    return ns / NS_PER_S


@dataclass(frozen=True)
class PacingReport:
    """What the wall clock measured: lateness of timed events and overruns."""

    events: int
    p50_us: float
    p99_us: float
    max_us: float
    overruns: int
    realtime_policy: str

    def as_text(self) -> str:
        return (f"{self.events} timed events, lateness p50 {self.p50_us:.1f} us, "
                f"p99 {self.p99_us:.1f} us, max {self.max_us:.1f} us, "
                f"{self.overruns} overruns ({self.realtime_policy})")


Poller = Callable[[float], bool]
"""Waits up to ``timeout`` seconds for input (a frame) and handles it; True if it did."""


class WallClockEnvironment(NsEnvironment):
    """A simpy environment paced by the wall clock, in integer nanoseconds.

    ``spin_ns``: the last stretch before a deadline is spun, not slept, because
    sleeping wakes up 50-500 us late on a non-RT kernel (docs/architecture.md, "The 1 ms budget").
    ``max_block_ns``: pollers are never asked to block longer than this, so a
    newly scheduled earlier event is not missed for long.
    """

    def __init__(self, *, spin_ns: int = 150_000, overrun_ns: int = 1_000_000,
                 max_block_ns: int = 5_000_000, record_lateness: bool = True,
                 resolution_ns: int = 1) -> None:
        super().__init__(initial_time=0)
        if resolution_ns < 1:
            raise ValueError(f"resolution must be >= 1 ns, got {resolution_ns}")
        self.spin_ns = spin_ns
        #: Input handled between events is seen at the wall time floored to this grid
        #: (events run at their own scheduled times). hil ecu uses 1 us: every time it
        #: handles or sends a frame at is then a whole microsecond of its clock, which its
        #: trace carries exactly through python-can's float timestamps (238 ns apart at
        #: today's Unix time), so hil replay can rebuild its timeline to the nanosecond.
        self.resolution_ns = resolution_ns
        self.overrun_ns = overrun_ns
        self.max_block_ns = max_block_ns
        self.overruns = 0
        #: (bench time the event was due, how late it ran) of every overrun, in ns: the
        #: bench's stalls, which qualify() weighs against every verdict (hil.bench.fitness).
        self.stalls: list[tuple[int, int]] = []
        self.realtime_policy = "not started"
        self._record = record_lateness
        self._lateness: list[int] = []
        self._pollers: list[Poller] = []
        self._origin_ns = time.perf_counter_ns()

    # -- wiring -------------------------------------------------------------------

    def add_poller(self, poller: Poller) -> None:
        """Register a receive function of a real bus, polled while waiting."""
        self._pollers.append(poller)

    def reset_origin(self) -> None:
        """Make wall time zero now (call right before running)."""
        self._origin_ns = time.perf_counter_ns() - self.now

    def wall_now_ns(self) -> int:
        return time.perf_counter_ns() - self._origin_ns

    def _view(self, wall: int) -> int:
        """The wall time as input handled now is stamped: floored to the resolution."""
        res = self.resolution_ns
        return wall if res == 1 else wall - wall % res

    def advance_to_wall(self) -> None:
        """Move ``now`` up to the wall time (never past the next event): a frame received
        mid-wait is then handled at the time it arrived, not when the wait began."""
        wall = self._view(time.perf_counter_ns() - self._origin_ns)
        if wall > self._now:
            nxt = self.peek()
            self._now = wall if nxt is Infinity else min(wall, nxt)

    # -- the one overridden method -------------------------------------------------

    def step(self) -> None:
        perf = time.perf_counter_ns
        origin = self._origin_ns
        spin = self.spin_ns
        drained = False
        while True:
            deadline = self.peek()
            if deadline is Infinity and not self._pollers:
                raise EmptySchedule
            remaining = (Infinity if deadline is Infinity
                         else deadline - (perf() - origin))
            if remaining <= 0:
                if self._pollers and not drained:
                    # Already due (late, or several events at one time): first handle the
                    # frames that arrived meanwhile, so a late task does not see a stale
                    # reception time (a false timeout) for a frame that is waiting unread.
                    drained = True
                    self._now = max(self._now, min(self._view(perf() - origin), deadline))
                    for poll in self._pollers:
                        poll(0)
                    continue
                break
            if remaining > spin:
                block = min(remaining - spin, self.max_block_ns)
                if self._pollers:
                    # Time may only advance, and never past the next event.
                    wall = self._view(perf() - origin)
                    if wall > self._now:
                        self._now = wall if deadline is Infinity else min(wall, deadline)
                    for poll in self._pollers:
                        poll(block / NS_PER_S)
                else:
                    time.sleep(block / NS_PER_S)
                continue
            # Spin for the last stretch: precise, and short enough to be harmless
            # under SCHED_FIFO.
            while perf() - origin < deadline:
                pass
            break
        late = int(perf() - origin - deadline)  # deadline is an integer ns time here
        if self._record:
            self._lateness.append(late)
        if late > self.overrun_ns:
            self.overruns += 1
            self.stalls.append((int(deadline), late))  # a finite, integer deadline
        super().step()

    # -- reporting -----------------------------------------------------------------

    def lateness_ns(self) -> np.ndarray:
        return np.asarray(self._lateness, dtype=np.int64)

    def pacing_report(self) -> PacingReport:
        late = self.lateness_ns()
        if late.size == 0:
            return PacingReport(0, 0.0, 0.0, 0.0, self.overruns, self.realtime_policy)
        p50, p99 = np.percentile(late, [50, 99])
        return PacingReport(int(late.size), float(p50) / 1e3, float(p99) / 1e3,
                            float(late.max()) / 1e3, self.overruns, self.realtime_policy)


@contextlib.contextmanager
def realtime_measures(env: WallClockEnvironment | None = None, *, fifo_priority: int = 50,
                      cpu: int | None = None) -> Iterator[str]:
    """SCHED_FIFO, CPU affinity and a frozen garbage collector around a wall-clock run.

    Each measure is taken only where the OS permits it; the yielded string says
    which were, so reports can state what the machine allowed. Everything is
    restored on exit, also after an exception.
    """
    taken: list[str] = []
    old_policy = old_param = old_affinity = None
    if hasattr(os, "sched_setscheduler"):
        try:
            old_policy = os.sched_getscheduler(0)
            old_param = os.sched_getparam(0)
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(fifo_priority))
            taken.append(f"SCHED_FIFO {fifo_priority}")
        except (PermissionError, OSError):
            old_policy = None
            taken.append("no SCHED_FIFO (not permitted)")
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        try:
            old_affinity = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {cpu})
            taken.append(f"pinned to CPU {cpu}")
        except OSError:
            taken.append("no CPU affinity (not permitted)")
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    taken.append("gc frozen")
    policy = ", ".join(taken)
    if env is not None:
        env.realtime_policy = policy
    try:
        yield policy
    finally:
        if gc_was_enabled:
            gc.enable()
        gc.unfreeze()
        if old_policy is not None and old_param is not None:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, old_policy, old_param)
        if old_affinity is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, old_affinity)
