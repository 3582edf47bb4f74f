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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import can
import numpy as np

from hil.bench.base import LoopBase
from hil.bench.clock import NS_PER_S, WallClockEnvironment, realtime_measures
from hil.bus.real import RecordingBus, WallNetwork, open_bus
from hil.config.rig import RigConfig, check_signal_map, load_rig
from hil.errors import ConfigError
from hil.nodes import NODES
from hil.nodes.ecu import EcuRuntime
from hil.nodes.ecu_config import load_calibration, load_ecu_config
from hil.nodes.operator import BenchNode
from hil.nodes.plant import PlantNode
from hil.trace import Trace
from hil.wire.codec import Codec
from hil.wire.dbc import load_dbc
from hil.wire.flags import FLAG_EXTENDED, FLAG_RX


class ExternalEcu:
    """Stands in for the ECU runtime when the ECU is another process or a real ECU."""

    def __init__(self, bus: RecordingBus) -> None:
        self._bus = bus

    def task_times(self) -> dict[str, np.ndarray]:
        return {}

    def counters(self) -> dict[str, Any]:
        return {"external": True, "frames_received_from_bus": self._bus.frames_received}


class WallBench(LoopBase):
    """The bench side of a wall-clock rig: plant node, bench node, trace, optional local ECU.

    The same wiring as :class:`hil.bench.SilBench` (and the same attributes the
    scenario runner uses), on the wall clock and on ``can.Bus(**rig.bus)``.
    """

    def __init__(self, rig: RigConfig, *, plant: Any = None, plant_params: str | None = None,
                 overrides: Mapping[str, Any] | None = None, calibration: str | Path | None = None,
                 seed: int = 0, trace: bool = True, spool_dir: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None,
                 realtime: bool = True, cpu: int | None = None) -> None:
        if rig.clock != "wall":
            raise ConfigError(f"rig {rig.name!r} is not a wall-clock rig (clock: wall)",
                              file=str(rig.path))
        from hil.bench.sil import build_plant

        self.rig = rig
        self.db = load_dbc(rig.dbc)
        self.codec = Codec(self.db, out_of_range=rig.out_of_range)
        self.env = WallClockEnvironment()
        self.plant = plant if plant is not None else build_plant(
            plant_params or rig.plant, overrides, seed)
        check_signal_map(rig, self.db, tuple(self.plant.output_names),
                         tuple(self.plant.input_names))
        senders = {m.frame_id: (m.senders[0] if m.senders else "?") for m in self.db.messages}
        self.node_index = {name: i for i, name in enumerate(NODES)}
        self._realtime = realtime
        self._cpu = cpu
        self._stack = contextlib.ExitStack()
        self._started = False
        self._closed = False
        self.realtime_policy = "not started"
        raw = open_bus(rig)
        self.bus = RecordingBus(raw, self.env, senders,
                                own_echo=rig.bus.get("interface") == "udp_multicast")
        self.network = WallNetwork(self.bus)
        try:
            self.trace = (Trace(self.db, nodes=NODES, quantities=tuple(self.plant.output_names),
                                spool_dir=spool_dir) if trace else None)
            if self.trace is not None:
                self.bus.add_observer(self._observe)
            self.plant_node = PlantNode(self.env, self.bus, self.plant, self.db, self.codec,
                                        publish=rig.publish, apply=rig.apply,
                                        step_ns=rig.step_ns, trace=self.trace)
            self.bench = BenchNode(self.env, self.bus, self.db, self.codec)
            self._ecu_bus: can.BusABC | None = None
            if rig.ecu == "local":
                # A second handle on the same bus: the ECU is another node on the wire.
                self._ecu_bus = open_bus(rig)
                config = load_ecu_config(rig.ecu_config, self.db)
                cal = load_calibration(config, calibration if calibration is not None
                                       else rig.calibration)
                self.ecu: Any = EcuRuntime(self.env, self._ecu_bus, self.db, self.codec, config,
                                           calibration=cal, options=controller_options)
            else:
                self.ecu = ExternalEcu(self.bus)
        except BaseException:
            self.bus.shutdown()
            raise

    @classmethod
    def from_rig(cls, rig: str | Path | RigConfig, **kwargs: Any) -> WallBench:
        return cls(rig if isinstance(rig, RigConfig) else load_rig(rig), **kwargs)

    def _observe(self, t_end_ns: int, t_start_ns: int, msg: can.Message, sender: str) -> None:
        flags = (FLAG_EXTENDED if msg.is_extended_id else 0) | (FLAG_RX if msg.is_rx else 0)
        self.trace.add_frame(t_end_ns, t_start_ns, msg.arbitration_id, msg.data,
                             self.node_index.get(sender, 255), flags)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if isinstance(self.ecu, EcuRuntime):
            self.ecu.start()
        elif "FaultReset" in self.bench.commands:
            # An external ECU was powered up before the bench and has latched the missing
            # sensor frames (LIMP): the operator's first act is a fault reset, as on a rig.
            self.bench.set("FaultReset", 1, momentary=True)
        self.bench.start()
        self.plant_node.start()
        if self._realtime:
            self.realtime_policy = self._stack.enter_context(
                realtime_measures(self.env, cpu=self._cpu))
        else:
            self.realtime_policy = self.env.realtime_policy = "no realtime measures (asked)"
        self.env.reset_origin()
        self.bus.sync_clock()
        if self.trace is not None:
            self.trace.start_time_s = self.bus.origin_unix_s

    def run_until(self, t_ns: int) -> None:
        """Run the loop until bench time ``t_ns`` — in wall-clock time."""
        self.start()
        if t_ns > self.env.now:
            self.env.run(until=t_ns)

    def run_for(self, seconds: float) -> None:
        self.run_until(self.env.now + round(seconds * NS_PER_S))

    def figures(self) -> dict[str, Any]:
        pacing = self.env.pacing_report()
        return {"pacing": {"events": pacing.events, "p50_us": pacing.p50_us,
                           "p99_us": pacing.p99_us, "max_us": pacing.max_us,
                           "overruns": pacing.overruns, "policy": pacing.realtime_policy},
                "timestamps": {"sent": "bench clock when handed to the interface",
                               "received": self.bus.timestamp_source}}

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

    def __enter__(self) -> WallBench:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
