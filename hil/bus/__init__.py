"""The simulated CAN bus of the SIL bench: exact frame timing, arbitration, load, faults.

``SimCanNetwork(env, bitrate)`` is the wire in simulated time; ``network.connect(name)``
gives each node a real ``can.BusABC`` (:class:`SimBus`), so nodes are written once
against python-can and run unchanged on a real bus.
"""

from hil.bus.faults import FAULT_KINDS, Fault
from hil.bus.sim import (
    ERROR_FRAME_BITS,
    FLAG_ERROR,
    FLAG_EXTENDED,
    FLAG_FAULT,
    FLAG_FD,
    SimBus,
    SimCanNetwork,
    SimCyclicSendTask,
)
from hil.bus.timing import crc15, fd_frame_bits, frame_bits, frame_duration_ns

__all__ = [
    "ERROR_FRAME_BITS",
    "FAULT_KINDS",
    "FLAG_ERROR",
    "FLAG_EXTENDED",
    "FLAG_FAULT",
    "FLAG_FD",
    "Fault",
    "SimBus",
    "SimCanNetwork",
    "SimCyclicSendTask",
    "crc15",
    "fd_frame_bits",
    "frame_bits",
    "frame_duration_ns",
]
