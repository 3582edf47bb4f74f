"""The n.Tec ECU on a real bus, in wall-clock time: what ``hil ecu`` runs.

The same ECU runtime as in SIL (controllers, tasks, E2E, supervision), paced by the wall
clock, on any python-can bus; it records what it saw and sent and stops cleanly on
SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hil.bench.assembly import assemble, load_contract
from hil.bench.clock import NS_PER_S, WallClockEnvironment
from hil.bench.wall import start_wall_time
from hil.bus.real import RecordingBus, open_bus
from hil.config.rig import RigConfig
from hil.config.session import check_session
from hil.nodes import ECU
from hil.nodes.ecu import EcuRuntime
from hil.nodes.ecu_config import load_calibration
from hil.trace.export import export

#: The grid of hil ecu's clock for the frames it handles between its events (its schedule
#: is whole microseconds too: task periods, offsets and execution times in the ECU config).
HANDLING_RESOLUTION_NS = 1_000


def configure_session(ecu: EcuRuntime, rig: RigConfig, config: Any,
                      calibration: str | Path | None) -> None:
    """What the rig's ``session:`` asks of the ECU runtime ``hil ecu`` runs: honour the
    reset request, supervise from the first reception, reload the power-on calibration on
    a reset. ``hil replay`` configures its ECU with this too, so a replay of ``hil ecu``'s
    trace resets and wakes where the live ECU did."""
    session = rig.session
    if session is None:
        return
    chosen = calibration if calibration is not None else rig.calibration
    ecu.session(reset_request=session.request,
                wake_on_bus=session.supervision == "first_reception",
                reload_calibration=lambda: load_calibration(config, chosen))


class EcuEmulator:
    """``hil ecu``: the ECU runtime alone, in wall-clock time on the rig's bus.

    The controllers and the runtime are the SIL ones, unchanged. ``stop()`` (from a
    signal handler) ends the run at the next chunk boundary (at most ``chunk_s``).
    """

    def __init__(self, rig: RigConfig, *, calibration: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None, trace: bool = True,
                 realtime: bool = True, cpu: int | None = None) -> None:
        self.rig = rig
        self.db, self.codec = load_contract(rig)
        check_session(rig.session, self.db)
        # A 1 us grid for what it handles between events: its trace then carries its
        # timeline exactly (hil replay of it is exact; hil.bench.clock).
        self.env = WallClockEnvironment(resolution_ns=HANDLING_RESOLUTION_NS)
        senders = {m.frame_id: (m.senders[0] if m.senders else "?") for m in self.db.messages}
        bus: list[RecordingBus] = []

        def the_bus(_node: str = ECU) -> RecordingBus:
            # Opened once the configuration is known to be good (assemble checks it first).
            # The ECU's trace is the ECU's view: frames at the time it handled them, so
            # that `hil replay` of it reproduces what the runtime computed.
            if not bus:
                bus.append(RecordingBus(open_bus(rig), self.env, senders, sender=ECU,
                                        own_echo=rig.bus.get("interface") == "udp_multicast",
                                        stamp="handling"))
            return bus[0]

        try:
            loop = assemble(rig, self.env, the_bus, nodes=(ECU,), db=self.db,
                            codec=self.codec, calibration=calibration,
                            controller_options=controller_options, trace=trace,
                            observe=lambda fn: the_bus().add_frame_observer(fn))
        except BaseException:
            if bus:
                bus[0].shutdown()
            raise
        self.bus = the_bus()
        assert loop.ecu is not None and loop.ecu_config is not None
        self.trace = loop.trace
        self.ecu: EcuRuntime = loop.ecu
        configure_session(self.ecu, rig, loop.ecu_config, calibration)
        self.config = loop.ecu_config
        self._realtime = realtime
        self._cpu = cpu
        self._stop = False
        self.realtime_policy = "not started"

    def stop(self, *_args: Any) -> None:
        self._stop = True

    def run(self, seconds: float | None = None, *, chunk_s: float = 0.1) -> None:
        """Run until ``seconds`` of wall time have passed or :meth:`stop` was called."""
        end = math.inf if seconds is None else round(seconds * NS_PER_S)
        chunk = round(chunk_s * NS_PER_S)
        self.ecu.start()
        with contextlib.ExitStack() as stack:
            self.realtime_policy = start_wall_time(stack, self.env, self.bus, self.trace,
                                                   realtime=self._realtime, cpu=self._cpu)
            while not self._stop and self.env.now < end:
                self.env.run(until=min(self.env.now + chunk, end))

    def counters_text(self) -> str:
        c = self.ecu.counters()
        pacing = self.env.pacing_report()
        lines = [f"hil ecu: {self.env.now / NS_PER_S:.2f} s, frames sent {c['frames_sent']}, "
                 f"received {c['frames_received']} (bus: {self.bus.frames_received} in, "
                 f"{self.bus.echoes_dropped} own echoes dropped)",
                 f"  pacing: {pacing.as_text()}",
                 "  rx errors: " + (", ".join(f"{k} {v}" for k, v in c["rx_errors"].items()
                                              if v) or "none")]
        for name, times in self.ecu.task_times().items():
            runs = c["task_runs"].get(name, 0)
            wd = c["watchdog_runs"].get(name)
            if times.size:
                p50, p99 = np.percentile(times, [50, 99])
                budget = next(t.spec.exec_time_ns for t in self.ecu.tasks if t.spec.name == name)
                lines.append(f"  task {name}: {runs} runs"
                             + (f" ({wd} by watchdog)" if wd is not None else "")
                             + f", exec p50 {p50 / 1e3:.1f} us, p99 {p99 / 1e3:.1f} us, "
                             f"max {times.max() / 1e3:.1f} us (budget {budget / 1e3:g} us)")
            else:
                lines.append(f"  task {name}: no runs")
        return "\n".join(lines)

    def close(self, trace_dir: str | Path | None = None,
              formats: tuple[str, ...] = ("blf",)) -> list[Path]:
        """Flush the trace (written in ``formats`` under ``trace_dir``) and release the bus."""
        written: list[Path] = []
        try:
            if self.trace is not None:
                self.trace.close()
                if trace_dir is not None:
                    out = Path(trace_dir)
                    out.mkdir(parents=True, exist_ok=True)
                    for fmt in formats:
                        written.append(export(self.trace, fmt, out / f"ecu.{fmt}"))
        finally:
            self.bus.shutdown()
        return written
