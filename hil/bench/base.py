"""The one interface every bench offers, and what the benches share.

A *bench* is the closed loop of a rig, assembled (:mod:`hil.bench.assembly`) and ready to
run: a clock, the bus, the plant node, the ECU (the runtime, or the one on the wire), the
operator's node and the trace. The scenario runner, the player, Python scenarios, the CLI
and the benchmarks are written against :class:`Bench` only; :func:`hil.bench.open_bench`
gives the SIL bench (simulated time) or the wall-clock bench for a rig. What differs
between the two is behind the protocol's methods, never a branch in the caller:

- :meth:`Bench.preflight` -- is the rig fit to run on? (SIL: always, nothing to check; a
  wall-clock rig: the bus, the ECU's messages, the bench's own pacing)
- :meth:`Bench.qualify` -- the verdicts as this rig can vouch for them (SIL: as they are;
  a wall-clock rig: INCONCLUSIVE where its pacing cannot resolve a bound or a stall could
  have decided them); :meth:`Bench.qualify_error` the same for a step error
- :meth:`Bench.figures` -- the run's figures for the report (bus, tasks, ECU counters; a
  wall-clock rig adds its pacing and timestamp sources)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeGuard, runtime_checkable

import numpy as np

from hil.bench.clock import NS_PER_S
from hil.scenario.expect import Verdict
from hil.wire.flags import FrameObserver

if TYPE_CHECKING:
    from cantools.database.can import Database

    from hil.bench.clock import NsEnvironment
    from hil.config.rig import RigConfig
    from hil.nodes.operator import BenchNode
    from hil.nodes.plant import PlantNode
    from hil.trace import Trace
    from hil.wire.codec import Codec


@dataclass(frozen=True)
class InconclusiveVerdict(Verdict):
    """A verdict the rig could not decide; ``measured_passed`` is what the figures said."""

    reason: str = ""
    measured_passed: bool = False
    inconclusive: bool = True

    def __str__(self) -> str:
        where = ":".join(map(str, self.where)) + ": " if self.where else ""
        measured = "PASS" if self.measured_passed else "FAIL"
        return f"{where}INCONCLUSIVE {self.message} (measured {measured}; {self.reason})"


def timing_bound_ns(expectation: Any) -> int | None:
    """The timing bound of one expectation (latency max, period jitter, eventually
    within), or None for one without."""
    from hil.scenario.model import Eventually, Latency, Period

    if isinstance(expectation, Latency):
        return expectation.max_ns
    if isinstance(expectation, Period):
        return expectation.jitter_ns
    if isinstance(expectation, Eventually):
        return expectation.within_ns
    return None


def tightest_timing_bound_ns(expectations: Any) -> int | None:
    """The tightest timing bound of a scenario's expectations, or None if it has none:
    what a wall rig's preflight self-test must resolve before the scenario runs."""
    bounds = [b for b in (timing_bound_ns(e) for e in expectations) if b]
    return min(bounds) if bounds else None


def is_inconclusive(verdict: Verdict) -> TypeGuard[InconclusiveVerdict]:
    """True for a verdict a bench's qualify() could not decide (never a pass)."""
    return bool(getattr(verdict, "inconclusive", False))


class Network(Protocol):
    """What a bench's bus offers the runner: observers, faults (where it can) and figures."""

    def add_frame_observer(self, fn: FrameObserver, /) -> None: ...

    def inject_fault(self, kind: str, **params: Any) -> Any: ...

    def clear_fault(self, handle: Any, /) -> None: ...

    def report(self) -> dict[str, Any]: ...


class Ecu(Protocol):
    """The ECU as the bench sees it: the runtime in this process, or one on the wire."""

    def task_times(self) -> Mapping[str, np.ndarray]: ...

    def counters(self) -> dict[str, Any]: ...


@dataclass
class FitnessCheck:
    name: str
    status: str          # PASS | WARN | FAIL
    detail: str


@dataclass
class Fitness:
    """Whether a rig is fit to run on (the preflight's answer), with its checks."""

    rig: str
    checks: list[FitnessCheck] = field(default_factory=list)
    pacing: dict[str, Any] = field(default_factory=dict)
    timestamps: str = ""

    @property
    def passed(self) -> bool:
        return all(c.status != "FAIL" for c in self.checks)

    def add(self, name: str, status: str, detail: str) -> None:
        self.checks.append(FitnessCheck(name, status, detail))

    @property
    def unfit_reason(self) -> str | None:
        """When the only failed check is the bench's own pacing (the self-test could not
        resolve the timing bound asked of it), why: the rig cannot judge the scenario,
        which is then INCONCLUSIVE rather than failed. None otherwise."""
        failed = [c for c in self.checks if c.status == "FAIL"]
        if failed and all(c.name == "self-test pacing" for c in failed):
            return "preflight self-test: " + failed[0].detail
        return None

    def table(self) -> str:
        width = max([len(c.name) for c in self.checks] + [5])
        lines = [f"preflight of rig {self.rig}", f"{'check':{width}s}  result  detail"]
        lines += [f"{c.name:{width}s}  {c.status:6s}  {c.detail}" for c in self.checks]
        verdict = "passed" if self.passed else "FAILED"
        lines.append(f"preflight {verdict}: {sum(c.status == 'PASS' for c in self.checks)} "
                     f"pass, {sum(c.status == 'WARN' for c in self.checks)} warn, "
                     f"{sum(c.status == 'FAIL' for c in self.checks)} fail")
        return "\n".join(lines)


@runtime_checkable
class Bench(Protocol):
    """The closed loop of one rig, whichever clock and bus it runs on.

    The parts are read-only here (a bench may narrow their types: the SIL bench's network
    is a :class:`~hil.bus.sim.SimCanNetwork`, a wall bench's ECU may be one on the wire).
    """

    @property
    def rig(self) -> RigConfig: ...

    @property
    def db(self) -> Database: ...

    @property
    def codec(self) -> Codec: ...

    @property
    def env(self) -> NsEnvironment: ...

    @property
    def network(self) -> Network: ...

    @property
    def plant(self) -> Any: ...          # the plant behind the plant node (plants' API)

    @property
    def plant_node(self) -> PlantNode: ...

    @property
    def ecu(self) -> Ecu: ...

    @property
    def operator(self) -> BenchNode: ...

    @property
    def trace(self) -> Trace | None: ...

    @property
    def now(self) -> float: ...

    @property
    def now_ns(self) -> int: ...

    def event(self, kind: str, text: str) -> None: ...

    def on_step(self, hook: Callable[[int], None]) -> None: ...

    def preflight(self, timing_bound_ns: int | None = None) -> Fitness: ...

    def start(self) -> None: ...

    def run_until(self, t_ns: int) -> None: ...

    def run_for(self, seconds: float) -> None: ...

    def qualify(self, verdicts: Sequence[Verdict]) -> list[Verdict]: ...

    def qualify_error(self, t_ns: int) -> str | None: ...

    def figures(self) -> dict[str, Any]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def task_figures(times: np.ndarray) -> dict[str, float]:
    """Runs and execution time percentiles of one ECU task, for the report."""
    if times.size == 0:
        return {"runs": 0}
    p50, p99 = np.percentile(times, [50, 99])
    return {"runs": int(times.size), "p50_us": float(p50) / 1e3, "p99_us": float(p99) / 1e3,
            "max_us": float(times.max()) / 1e3}


#: The bus figures a report keeps (the network's report has more).
_BUS_FIGURES = ("bitrate", "elapsed_ns", "window_ns", "load_mean", "load_max", "load_overall",
                "frames", "frames_sent", "frames_received", "echoes_dropped", "timestamps",
                "bits", "error_frames")


class LoopBase:
    """What every bench implements the same way: time, events, step hooks, figures.

    Subclasses set the attributes of :class:`Bench` and implement ``start``,
    ``run_until`` and ``close``; they override ``preflight``, ``qualify`` and
    ``figures`` where their rig adds something.
    """

    rig: RigConfig
    env: NsEnvironment
    trace: Trace | None
    plant_node: PlantNode

    @property
    def now_ns(self) -> int:
        return int(self.env.now)

    @property
    def now(self) -> float:
        return self.env.now / NS_PER_S

    def event(self, kind: str, text: str) -> None:
        if self.trace is not None:
            self.trace.add_event(self.env.now, kind, text)

    def on_step(self, hook: Callable[[int], None]) -> None:
        """Call ``hook(now_ns)`` before every plant step (scenario steps, online checks)."""
        self.plant_node.step_hooks.append(hook)

    def start(self) -> None:
        raise NotImplementedError

    def run_until(self, t_ns: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def run_for(self, seconds: float) -> None:
        self.run_until(self.env.now + round(seconds * NS_PER_S))

    def preflight(self, timing_bound_ns: int | None = None) -> Fitness:
        """Nothing to check: the bench assembled this loop itself."""
        return Fitness(self.rig.name)

    def qualify(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        return list(verdicts)

    def qualify_error(self, t_ns: int) -> str | None:
        """Why a step error at ``t_ns`` (a wait_until that gave up) may be the rig's doing,
        or None: in simulated time nothing stalls."""
        return None

    network: Any   # narrowed by each bench
    ecu: Any

    def figures(self) -> dict[str, Any]:
        bus = self.network.report()
        return {"bus": {k: bus[k] for k in _BUS_FIGURES if k in bus},
                "tasks": {name: task_figures(times)
                          for name, times in self.ecu.task_times().items()},
                "ecu": self.ecu.counters()}

    def __enter__(self) -> LoopBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
