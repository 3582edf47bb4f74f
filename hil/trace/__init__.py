"""The bench's trace: every CAN frame and every plant sample of a run, columnar.

See docs/trace-api.md. :mod:`hil.trace.core` holds the Trace, :mod:`hil.trace.store`
the in-memory/spooled columns, :mod:`hil.trace.decode` the vectorised DBC decoder;
:mod:`hil.trace.export` writes BLF/ASC/candump log (python-can), MF4 (asammdf) and CSV,
through :mod:`hil.trace.files` (complete or absent, never half-written). The frame flags
are :mod:`hil.wire.flags`.
"""

from hil.trace.core import (
    FORMATS,
    FrameView,
    Series,
    Trace,
    UnknownSignalError,
    quantity_unit,
)

__all__ = [
    "Trace", "Series", "FrameView", "UnknownSignalError", "quantity_unit", "FORMATS",
]
