"""The SIL bench: the whole loop in one process, in simulated time.

A simulated CAN network with one ``SimBus`` per node (exact frame timing, arbitration,
faults), the composite plant behind the plant node, the n.Tec controllers in the ECU
runtime and the operator's node, every frame and every plant sample into the trace.
Bit-reproducible: integer nanoseconds, no wall clock anywhere in the loop.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hil.bench.assembly import Loop, assemble, build_plant
from hil.bench.base import LoopBase
from hil.bench.clock import simulated_environment
from hil.bus import SimCanNetwork
from hil.config.rig import RigConfig, load_rig
from hil.errors import ConfigError
from hil.nodes.ecu import EcuRuntime
from hil.nodes.operator import BenchNode
from hil.nodes.plant import PlantNode

__all__ = ["SilBench", "build_plant"]


class SilBench(LoopBase):
    """The closed loop of the SIL rig, in simulated time."""

    network: SimCanNetwork
    ecu: EcuRuntime

    def __init__(self, rig: RigConfig, *, plant: Any = None, plant_params: str | None = None,
                 overrides: Mapping[str, Any] | None = None, calibration: str | Path | None = None,
                 seed: int = 0, trace: bool = True, spool_dir: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None) -> None:
        if rig.clock != "simulated" or not rig.simulated_bus:
            raise ConfigError(f"rig {rig.name!r} is not a SIL rig (clock: simulated, "
                              "bus interface: sim)", file=str(rig.path))
        self.rig = rig
        self.env = simulated_environment()
        self.network = SimCanNetwork(self.env, bitrate=int(rig.bus.get("bitrate", 500_000)))
        # The nodes receive by callback only: no receive queue (a Message per frame
        # that nobody reads). Watch the bus with an observer or another node.
        loop = assemble(rig, self.env, lambda node: self.network.connect(node, rx_queue_size=0),
                        plant=plant, plant_params=plant_params, overrides=overrides,
                        seed=seed, calibration=calibration, trace=trace, spool_dir=spool_dir,
                        controller_options=controller_options,
                        observe=self.network.add_frame_observer)
        self._adopt(loop)
        self._started = False

    def _adopt(self, loop: Loop) -> None:
        assert loop.plant_node is not None and loop.ecu is not None
        assert loop.operator is not None
        self.db, self.codec, self.trace = loop.db, loop.codec, loop.trace
        self.plant = loop.plant
        self.plant_node: PlantNode = loop.plant_node
        self.ecu = loop.ecu
        self.ecu_config, self.calibration = loop.ecu_config, loop.calibration
        self.operator: BenchNode = loop.operator

    @classmethod
    def from_rig(cls, rig: str | Path | RigConfig | None = None, **kwargs: Any) -> SilBench:
        return cls(rig if isinstance(rig, RigConfig) else load_rig(rig), **kwargs)

    # -- running -----------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.ecu.start()
        self.operator.start()
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
