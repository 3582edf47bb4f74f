"""The n.Tec engine controllers: the system under test of the HIL bench.

Pure: numpy, pyyaml and the standard library only -- never ``hil`` or ``plants``.
Inputs and outputs are DBC physical values; ``controllers/ecu.yaml`` says which
controller runs in which task. See docs/controllers/ for each controller.
"""

from controllers.base import Controller
from controllers.basemap import (
    Calibration,
    CalibrationError,
    Map2D,
    load_calibration,
    loads_calibration,
)
from controllers.codes import (
    LIMP_FAULTS,
    SHUTDOWN_FAULTS,
    AiTunerState,
    EngineMode,
    Fault,
    RxStatus,
    TunerState,
)

__all__ = [
    "AiTunerState", "Calibration", "CalibrationError", "Controller", "EngineMode", "Fault",
    "LIMP_FAULTS", "Map2D", "RxStatus", "SHUTDOWN_FAULTS", "TunerState", "load_calibration",
    "loads_calibration",
]
