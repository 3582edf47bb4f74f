"""The bench's trace: every CAN frame and every plant sample of a run, columnar.

See docs/trace-api.md. :mod:`hil.trace.core` holds the Trace, :mod:`hil.trace.store`
the in-memory/spooled columns, :mod:`hil.trace.decode` the vectorised DBC decoder;
:mod:`hil.export` writes BLF/ASC/candump log (python-can), MF4 (asammdf) and CSV.
"""

from hil.trace.core import (
    FLAG_ERROR,
    FLAG_EXTENDED,
    FLAG_FAULTED,
    FLAG_FD,
    FLAG_RX,
    FORMATS,
    FrameView,
    Series,
    Trace,
    UnknownSignalError,
    quantity_unit,
)

__all__ = [
    "Trace", "Series", "FrameView", "UnknownSignalError", "quantity_unit", "FORMATS",
    "FLAG_ERROR", "FLAG_EXTENDED", "FLAG_FD", "FLAG_FAULTED", "FLAG_RX",
]
