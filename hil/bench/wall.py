"""The wall-clock bench on a real bus: the plant side of a bench rig.

A rig with ``clock: wall`` runs the same plant node, bench node and (for
``ecu: local``) ECU runtime as the SIL bench, but on the wall clock
(:class:`hil.bench.clock.WallClockEnvironment`) and on a bus made by
``can.Bus(**rig.bus)`` — udp_multicast, socketcan, pcan, virtual ... With
``ecu: external`` the ECU is another process (``hil ecu``) or a real ECU.

What is recorded, and with which timestamps: every frame the bench sends is
stamped with the bench clock when it is handed to the interface; every frame
it receives is stamped with the *interface's* receive timestamp
(``msg.timestamp``: the kernel's SO_TIMESTAMPNS on udp_multicast and socketcan,
the adapter's on PCAN), mapped onto the bench clock. Where an interface gives no
plausible timestamp the bench clock at reception is used instead, and
:attr:`RecordingBus.timestamp_source` says which it was, so reports can name the
timestamp source of every timing verdict.

Overrun policy is the wall clock's: catch up (late events run at once, in
order; the schedule does not shift), see :mod:`hil.bench.clock`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import can
import numpy as np

from hil.bench.assembly import assemble, load_contract
from hil.bench.base import Fitness, LoopBase
from hil.bench.clock import WallClockEnvironment, realtime_measures
from hil.bus.real import RecordingBus, WallNetwork, open_bus
from hil.config.rig import RigConfig, load_rig
from hil.config.session import check_session
from hil.errors import ConfigError
from hil.nodes import BENCH, ECU, NODES, PLANT
from hil.nodes.ecu import EcuRuntime
from hil.nodes.operator import BenchNode
from hil.nodes.plant import PlantNode

if TYPE_CHECKING:
    from hil.bench.fitness import Stall
    from hil.bench.session import EcuProcess
    from hil.scenario.expect import Verdict
    from hil.trace import Trace


def start_wall_time(stack: contextlib.ExitStack, env: WallClockEnvironment, bus: RecordingBus,
                    trace: Trace | None, *, realtime: bool, cpu: int | None) -> str:
    """t=0 of a wall-clock run: real-time measures (undone by ``stack``), the clock's origin,
    the bus's timestamp mapping and the trace's real start time. Returns the policy."""
    if realtime:
        policy = stack.enter_context(realtime_measures(env, cpu=cpu))
    else:
        policy = env.realtime_policy = "no realtime measures (asked)"
    env.reset_origin()
    bus.sync_clock()
    if trace is not None:
        trace.start_time_s = bus.origin_unix_s
    return policy


class ExternalEcu:
    """Stands in for the ECU runtime when the ECU is another process or a real ECU."""

    def __init__(self, bus: RecordingBus) -> None:
        self._bus = bus

    def task_times(self) -> dict[str, np.ndarray]:
        return {}

    def counters(self) -> dict[str, Any]:
        return {"external": True, "frames_received_from_bus": self._bus.frames_received}


class WallBench(LoopBase):
    """The bench side of a wall-clock rig: plant node, operator node, trace, optional local ECU.

    The same loop as :class:`hil.bench.sil.SilBench` (one :func:`~hil.bench.assembly.assemble`),
    on the wall clock and on ``can.Bus(**rig.bus)``.
    """

    env: WallClockEnvironment
    network: WallNetwork
    ecu: EcuRuntime | ExternalEcu

    def __init__(self, rig: RigConfig, *, plant: Any = None, plant_params: str | None = None,
                 overrides: Mapping[str, Any] | None = None, calibration: str | Path | None = None,
                 seed: int = 0, trace: bool = True, spool_dir: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None,
                 realtime: bool = True, cpu: int | None = None) -> None:
        if rig.clock != "wall":
            raise ConfigError(f"rig {rig.name!r} is not a wall-clock rig (clock: wall)",
                              file=str(rig.path))
        self.rig = rig
        db, codec = load_contract(rig)
        check_session(rig.session, db)
        self.env = WallClockEnvironment()
        senders = {m.frame_id: (m.senders[0] if m.senders else "?") for m in db.messages}
        self._realtime = realtime
        self._cpu = cpu
        self._calibration = calibration    # the scenario's: an ECU the bench starts runs it
        self._stack = contextlib.ExitStack()
        self._started = False
        self._closed = False
        self._preflight: Fitness | None = None
        self._ecu_process: EcuProcess | None = None
        #: How the ECU's known state at t=0 was reached (the rig's session:), for the report.
        self.session = "no ECU session run (preflight not run)"
        self.realtime_policy = "not started"
        self._ecu_bus: can.BusABC | None = None
        buses: list[RecordingBus] = []

        def the_bus() -> RecordingBus:
            # Opened once the configuration is known to be good (assemble checks it first).
            if not buses:
                buses.append(RecordingBus(open_bus(rig), self.env, senders, sender=BENCH,
                                          own_echo=rig.bus.get("interface") == "udp_multicast"))
            return buses[0]

        def bus_for(node: str) -> can.BusABC:
            if node == ECU:
                # A second handle on the same bus: the ECU is another node on the wire.
                self._ecu_bus = open_bus(rig)
                return self._ecu_bus
            return the_bus()

        nodes = NODES if rig.ecu == "local" else (PLANT, BENCH)
        try:
            loop = assemble(rig, self.env, bus_for, nodes=nodes, db=db, codec=codec,
                            plant=plant, plant_params=plant_params, overrides=overrides,
                            seed=seed, calibration=calibration, trace=trace,
                            spool_dir=spool_dir, controller_options=controller_options,
                            observe=lambda fn: the_bus().add_frame_observer(fn))
        except BaseException:
            if buses:
                buses[0].shutdown()
            if self._ecu_bus is not None:
                self._ecu_bus.shutdown()
            raise
        self.bus = the_bus()
        self.network = WallNetwork(self.bus)
        assert loop.plant_node is not None and loop.operator is not None
        self.db, self.codec, self.trace = loop.db, loop.codec, loop.trace
        self.plant = loop.plant
        # Before any clock runs: a compiled plant's first step would otherwise load its
        # machine code at t=0 (measured: a 360 ms stall, the preflight failed on it).
        warm_up = getattr(self.plant, "warm_up", None)
        if callable(warm_up):
            warm_up()
        self.plant_node: PlantNode = loop.plant_node
        self.operator: BenchNode = loop.operator
        self.ecu = loop.ecu if loop.ecu is not None else ExternalEcu(self.bus)

    @classmethod
    def from_rig(cls, rig: str | Path | RigConfig, **kwargs: Any) -> WallBench:
        return cls(rig if isinstance(rig, RigConfig) else load_rig(rig), **kwargs)

    def preflight(self, timing_bound_ns: int | None = None) -> Fitness:
        """The rig's preflight (bus, ECU messages, values, the ECU's state, the bench's own
        pacing), run on a bench of its own before this one starts, then the rig's ECU
        session (:func:`hil.bench.session.reach_known_state`) as the last step before t=0;
        remembered for :meth:`qualify`. With ``session: {restart: process}`` an ECU
        process is started here for the preflight, then a fresh one for the run (the
        preflight's has latched the bench's silence after its listen), stopped by
        :meth:`close`. ``timing_bound_ns``: the
        scenario's tightest timing bound, which the self-test must resolve."""
        from hil.bench.preflight import FAIL, PASS, run_preflight
        from hil.bench.session import EcuProcess, reach_known_state

        session = self.rig.session
        if session is not None and session.restart == "process" and self._ecu_process is None:
            self._ecu_process = EcuProcess(self.rig, calibration=self._calibration)
        self._preflight = fitness = run_preflight(self.rig, realtime=self._realtime,
                                                  own_ecu=False,
                                                  timing_bound_ns=timing_bound_ns)
        if fitness.passed and session is not None:
            if self._ecu_process is not None:
                # The preflight's listen ended with the bench gone: its ECU has latched the
                # missing frames. The run gets a fresh one, at power-on (its supervision
                # starting at the first frame of the run).
                self._ecu_process.stop()
                self._ecu_process = None
                self._ecu_process = EcuProcess(self.rig, calibration=self._calibration)
            outcome = reach_known_state(self.rig, self.db, self.codec)
            fitness.add("ECU session", PASS if outcome.ok else FAIL, outcome.detail)
            self.session = outcome.detail
        return fitness

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if isinstance(self.ecu, EcuRuntime):
            self.ecu.start()
        elif self.rig.operator.fault_reset is not None:
            # An external ECU was powered up before the bench and has latched the missing
            # sensor frames (LIMP): the operator's first act is a fault reset, as on a rig
            # (the rig's operator.fault_reset names the signal).
            self.operator.set(self.rig.operator.fault_reset, 1, momentary=True)
        self.operator.start()
        self.plant_node.start()
        # Frames queued since the bus opened (before the ECU session) are not this run's:
        # they would enter the trace before t=0 with the ECU's state before its reset.
        while self.bus.inner.recv(0) is not None:
            pass
        self.realtime_policy = start_wall_time(self._stack, self.env, self.bus, self.trace,
                                               realtime=self._realtime, cpu=self._cpu)

    def run_until(self, t_ns: int) -> None:
        """Run the loop until bench time ``t_ns`` — in wall-clock time."""
        self.start()
        if t_ns > self.env.now:
            self.env.run(until=t_ns)

    def pacing(self) -> dict[str, Any]:
        pacing = self.env.pacing_report()
        stalls = self.env.stalls
        worst = max(stalls, key=lambda s: s[1], default=None)
        return {"events": pacing.events, "p50_us": pacing.p50_us, "p99_us": pacing.p99_us,
                "max_us": pacing.max_us, "overruns": pacing.overruns,
                "policy": pacing.realtime_policy, "stalls": len(stalls),
                "worst_stall": None if worst is None else
                {"t_s": worst[0] / 1e9, "late_us": worst[1] / 1e3}}

    def figures(self) -> dict[str, Any]:
        figures = super().figures()
        figures["pacing"] = self.pacing()
        ecu = [s for s in self.stalls() if s.who == "ecu"]
        worst = max(ecu, key=lambda s: s.late_ns, default=None)
        figures["ecu_stalls"] = {"stalls": len(ecu), "worst_stall": None if worst is None else
                                 {"t_s": worst.t_ns / 1e9, "late_us": worst.late_ns / 1e3}}
        figures["timestamps"] = {"sent": "bench clock when handed to the interface",
                                 "received": self.bus.timestamp_source}
        if self._preflight is not None:
            figures["preflight"] = [vars(c) for c in self._preflight.checks]
        figures["session"] = self.session
        return figures

    def qualify(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        """Timing verdicts as this rig can vouch for them: the timestamp source named, and
        INCONCLUSIVE where the worse of the run's and the preflight's pacing cannot resolve
        the bound (hil.bench.preflight.qualify_verdicts)."""
        from hil.bench.fitness import ecu_stall_tolerance_ns, qualify_stalls
        from hil.bench.preflight import qualify_verdicts

        pacing = self.pacing()
        if self._preflight is not None:
            for key in ("p50_us", "p99_us", "max_us", "overruns"):
                pacing[key] = max(pacing.get(key, 0), self._preflight.pacing.get(key, 0))
        qualified = qualify_verdicts(list(verdicts), pacing,
                                     timestamps=self.bus.timestamp_source,
                                     external_ecu=self.rig.ecu == "external")
        # Every other verdict the bench's own stalls (or, for an ECU process on this
        # machine, the ECU side's) could have decided (hil.bench.fitness).
        return qualify_stalls(qualified, self.stalls(), end_ns=self.now_ns,
                              tolerance_ns=ecu_stall_tolerance_ns(self.rig, self.db))

    def stalls(self) -> list[Stall]:
        """The run's stalls: the bench's (its clock's overruns) and, when the ECU is a
        process on this machine, the ECU side's (gaps in its frames; hil.bench.fitness)."""
        from hil.bench.fitness import as_stalls, ecu_on_this_machine, ecu_stalls

        found = as_stalls(self.env.stalls)
        if self.trace is not None and self.rig.ecu == "external" \
                and ecu_on_this_machine(self.rig):
            found += ecu_stalls(self.trace, self.db, ECU)
        return sorted(found, key=lambda s: s.t_ns)

    def qualify_error(self, t_ns: int) -> str | None:
        """A step error at ``t_ns`` after a stall beyond the ECU's supervision tolerance is
        the rig's doing as much as the ECU's: the reason, or None."""
        from hil.bench.fitness import ecu_stall_tolerance_ns, qualify_error

        return qualify_error(self.stalls(), t_ns,
                             tolerance_ns=ecu_stall_tolerance_ns(self.rig, self.db))

    def close(self) -> None:
        """Restore scheduling, flush the trace, release the buses (also after a failure)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stack.close()
            if self.trace is not None:
                self.trace.close()
        finally:
            self.bus.shutdown()
            if self._ecu_bus is not None:
                self._ecu_bus.shutdown()
            if self._ecu_process is not None:
                self._ecu_process.stop()

    def __enter__(self) -> WallBench:
        return self
