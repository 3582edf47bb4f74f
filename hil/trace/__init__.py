"""The bench's trace: every CAN frame and every plant sample of a run, columnar.

See docs/trace-api.md. :mod:`hil.trace.core` holds the Trace, :mod:`hil.trace.store`
the in-memory/spooled columns, :mod:`hil.trace.decode` the vectorised DBC decoder;
:mod:`hil.trace.export` writes BLF/ASC/candump log (python-can), MF4 (asammdf) and CSV
through one ``export(trace, fmt, path)``, via :mod:`hil.trace.files` (complete or absent,
never half-written). The frame flags are :mod:`hil.wire.flags`.

Importing this package imports the exporter, which registers itself with the recorder
(``Trace.save`` reaches the writers that way; core never imports export).
"""

from hil.trace.core import (
    FrameView,
    Series,
    Trace,
    UnknownSignalError,
    quantity_unit,
)
from hil.trace.export import FORMATS  # imports (and so registers) the exporter

__all__ = [
    "Trace", "Series", "FrameView", "UnknownSignalError", "quantity_unit", "FORMATS",
]
