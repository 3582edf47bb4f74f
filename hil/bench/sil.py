"""Assemble a bench from a rig: clock, bus, plant node, ECU runtime, bench node, trace.

:class:`SilBench` is the SIL rig put together in one process: a simulated CAN
network with one ``SimBus`` per node, the composite plant behind the plant node,
the n.Tec controllers in the ECU runtime and the operator's bench node, every
frame and every plant sample into the trace. Scenario runners, the CLI demo,
benchmarks and tests all build the loop through here, so there is one way to
wire it.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hil.bench.base import LoopBase
from hil.bench.clock import NS_PER_S, simulated_environment
from hil.bus import SimCanNetwork
from hil.config.registry import resolve
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


def build_plant(name: str, overrides: Mapping[str, Any] | None = None, seed: int = 0) -> Any:
    """The plant named by a rig or a scenario, through the plants package."""
    build = resolve("plants:build_plant", kind="plants")
    try:
        return build(name, overrides=dict(overrides or {}), seed=seed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class SilBench(LoopBase):
    """The closed loop of the SIL rig, in simulated time."""

    def __init__(self, rig: RigConfig, *, plant: Any = None, plant_params: str | None = None,
                 overrides: Mapping[str, Any] | None = None, calibration: str | Path | None = None,
                 seed: int = 0, trace: bool = True, spool_dir: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None) -> None:
        if rig.clock != "simulated" or not rig.simulated_bus:
            raise ConfigError(f"rig {rig.name!r} is not a SIL rig (clock: simulated, "
                              "bus interface: sim)", file=str(rig.path))
        self.rig = rig
        self.db = load_dbc(rig.dbc)
        self.codec = Codec(self.db, out_of_range=rig.out_of_range)
        self.env = simulated_environment()
        self.network = SimCanNetwork(self.env, bitrate=int(rig.bus.get("bitrate", 500_000)))
        self.plant = plant if plant is not None else build_plant(
            plant_params or rig.plant, overrides, seed)
        check_signal_map(rig, self.db, tuple(self.plant.output_names),
                         tuple(self.plant.input_names))
        self.trace = (Trace(self.db, nodes=NODES, quantities=tuple(self.plant.output_names),
                            spool_dir=spool_dir) if trace else None)
        self.node_index = {name: i for i, name in enumerate(NODES)}
        if self.trace is not None:
            self.network.add_frame_observer(self._observe)
        # The nodes receive by callback only: no receive queue (a Message per frame
        # that nobody reads). Watch the bus with an observer or another node.
        self.plant_node = PlantNode(self.env, self.network.connect("PLANT", rx_queue_size=0),
                                    self.plant,
                                    self.db, self.codec, publish=rig.publish, apply=rig.apply,
                                    step_ns=rig.step_ns, trace=self.trace)
        self.ecu_config = load_ecu_config(rig.ecu_config, self.db)
        cal_ref = calibration if calibration is not None else rig.calibration
        self.calibration = load_calibration(self.ecu_config, cal_ref)
        self.ecu = EcuRuntime(self.env, self.network.connect("ECU", rx_queue_size=0), self.db,
                              self.codec,
                              self.ecu_config, calibration=self.calibration,
                              options=controller_options)
        self.bench = BenchNode(self.env, self.network.connect("BENCH", rx_queue_size=0), self.db,
                               self.codec)
        self._started = False

    @classmethod
    def from_rig(cls, rig: str | Path | RigConfig | None = None, **kwargs: Any) -> SilBench:
        return cls(rig if isinstance(rig, RigConfig) else load_rig(rig), **kwargs)

    # -- trace -----------------------------------------------------------------------

    def _observe(self, t_end_ns: int, t_start_ns: int, arbitration_id: int, data: bytes,
                 sender: str, flags: int) -> None:
        self.trace.add_frame(t_end_ns, t_start_ns, arbitration_id, data,
                             self.node_index.get(sender, 255), flags)

    # -- running -----------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.ecu.start()
        self.bench.start()
        self.plant_node.start()

    def run_until(self, t_ns: int) -> None:
        """Advance simulated time to ``t_ns`` (integer nanoseconds).

        The cyclic garbage collector is paused while simulated time runs: a collection
        pause (of this run's or an earlier one's garbage) would otherwise be counted as
        the execution time of whichever ECU task it interrupted, and a real ECU has no
        such pause. Collection resumes between runs (the runner advances in chunks).
        """
        self.start()
        if t_ns > self.env.now:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                self.env.run(until=t_ns)
            finally:
                if was_enabled:
                    gc.enable()

    def run_for(self, seconds: float) -> None:
        self.run_until(self.env.now + round(seconds * NS_PER_S))

    def close(self) -> None:
        """Flush the trace and release the buses (also after a failed run)."""
        try:
            if self.trace is not None:
                self.trace.close()
        finally:
            for name in self.network.nodes:
                self.network.node(name).shutdown()

    def __enter__(self) -> SilBench:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
