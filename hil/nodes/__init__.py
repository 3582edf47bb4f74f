"""The nodes on the bus: the plant node, the ECU runtime and the operator's bench node.

Each node sees only a python-can ``BusABC`` (:mod:`hil.nodes.adapters` attaches its
receiver and sender), so the same node runs on the simulated bus and on a real one.
:mod:`hil.nodes.plant` publishes plant quantities as DBC signals and applies actuator
frames, :mod:`hil.nodes.ecu` hosts the controllers of ``ecu.yaml``
(:mod:`hil.nodes.ecu_config`), :mod:`hil.nodes.operator` sends the bench command message.
"""

#: The bench's node names: the plant node, the ECU (runtime or the one on the wire) and the
#: operator's bench node. Defined here once; the bus, the trace and the benches use them.
NODES = ("PLANT", "ECU", "BENCH")
PLANT, ECU, BENCH = NODES
