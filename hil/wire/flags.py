"""What the wire vocabulary says about one frame, defined once for the whole bench.

Frame flags travel with every frame from the bus (simulated or real) to its observers and
into the trace's ``flags`` column (docs/trace-api.md). The reception status is what the
E2E check decides about a received frame, published by the ECU runtime as
``<Msg>_RxStatus`` (docs/interfaces.md); the plant node uses the same rule for actuator
frames.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

FLAG_ERROR = 1 << 0       # error frame
FLAG_EXTENDED = 1 << 1    # 29-bit identifier
FLAG_FD = 1 << 2          # CAN FD frame
FLAG_FAULTED = 1 << 3     # altered by an injected fault
FLAG_RX = 1 << 4          # received by the bench (wall-clock runs)


class RxStatus(IntEnum):
    """Reception status of an E2E message, the value of ``<Msg>_RxStatus``."""

    OK = 0
    NEVER_RECEIVED = 1  # decided by the ECU runtime: no frame since start
    TIMEOUT = 2         # decided by the ECU runtime: no frame for timeout_cycles x cycle
    STALE = 3           # counter did not advance (frame repeated)
    COUNTER_JUMP = 4    # counter advanced by more than max_delta_counter (frames lost)
    CRC_ERROR = 5       # CRC mismatch (corrupted frame, wrong data id, bad length)


#: Statuses whose data is used: the frame itself is intact (after a counter jump the
#: frames before it were lost, this one is good). Plain ints: checked once per frame.
USABLE = frozenset(int(s) for s in (RxStatus.OK, RxStatus.COUNTER_JUMP))


#: ``fn(t_end_ns, t_start_ns, arbitration_id, data, sender, flags)``: one frame on a bus,
#: seen once, as every network of the bench reports it (simulated or real).
FrameObserver = Callable[[int, int, int, bytes, str, int], None]
