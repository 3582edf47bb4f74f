"""The buses: the simulated CAN network of the SIL bench and the adapters for real ones.

``SimCanNetwork(env, bitrate)`` is the wire in simulated time (:mod:`hil.bus.sim`, exact
frame timing from :mod:`hil.bus.timing`, arbitration, load, the faults of
:mod:`hil.bus.faults`); ``network.connect(name)`` gives each node a real ``can.BusABC``
(:class:`SimBus`), so nodes are written once against python-can and run unchanged on a
real bus. :mod:`hil.bus.real` opens real buses with ``can.Bus(**rig.bus)`` and records
them; :mod:`hil.bus.isolation` keeps bench traffic on this machine.
"""

from hil.bus.faults import FAULT_KINDS, Fault
from hil.bus.sim import (
    ERROR_FRAME_BITS,
    SimBus,
    SimCanNetwork,
    SimCyclicSendTask,
)
from hil.bus.timing import crc15, fd_frame_bits, frame_bits, frame_duration_ns

__all__ = [
    "ERROR_FRAME_BITS",
    "FAULT_KINDS",
    "Fault",
    "SimBus",
    "SimCanNetwork",
    "SimCyclicSendTask",
    "crc15",
    "fd_frame_bits",
    "frame_bits",
    "frame_duration_ns",
]
