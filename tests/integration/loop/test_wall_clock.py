"""The wall clock runs the same nodes as the simulated one, on a real python-can bus.

Only function is asserted here (frames flow both ways, the loop closes, lateness is
recorded): wall-clock speed and jitter are benchmarks/ figures, never test assertions.
"""

from __future__ import annotations

import uuid

import can
import numpy as np
from doubles import DoublePlant

from hil.bench.clock import WallClockEnvironment, realtime_measures
from hil.config.rig import load_rig
from hil.nodes.ecu import EcuRuntime
from hil.nodes.ecu_config import load_ecu_config
from hil.nodes.plant import PlantNode
from hil.wire.codec import Codec
from hil.wire.dbc import load_dbc


def test_same_nodes_run_on_the_wall_clock_over_python_can_virtual(doubles_rig):
    rig = load_rig(doubles_rig)
    db = load_dbc(rig.dbc)
    codec = Codec(db)
    channel = f"hil-{uuid.uuid4().hex}"
    env = WallClockEnvironment()
    plant_bus = can.Bus(interface="virtual", channel=channel)
    ecu_bus = can.Bus(interface="virtual", channel=channel)
    try:
        plant = DoublePlant()
        node = PlantNode(env, plant_bus, plant, db, codec, publish=rig.publish, apply=rig.apply,
                         step_ns=rig.step_ns)
        ecu = EcuRuntime(env, ecu_bus, db, codec, load_ecu_config(rig.ecu_config, db))
        ecu.start()
        node.start()
        with realtime_measures(env) as policy:
            env.reset_origin()
            env.run(until=300_000_000)  # 0.3 s of wall time
        assert "gc frozen" in policy
        assert node.frames_sent > 100
        assert ecu.frames_received > 100
        assert node.frames_applied > 100  # EcuFast came back and reached the plant
        assert plant.inputs["ecu.fuel_mass_mg"] > 0
        assert ecu.counters()["task_runs"]["fast"] > 100
        late = env.lateness_ns()
        assert late.size > 300 and np.all(late >= 0)
        assert env.pacing_report().events == late.size
    finally:
        plant_bus.shutdown()
        ecu_bus.shutdown()
