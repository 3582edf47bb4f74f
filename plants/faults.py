"""The plant's fault modes and their parameters, declared once.

Part faults (:mod:`plants.health`) and sensor faults (:mod:`plants.sensors`) check what
``inject_fault`` is given against these tables, and a scenario loader can check a
scenario's faults against the same tables before a run (``CompositePlant.fault_modes()``
hands them out per target). A parameter is a number in ``unit``: ``"s"`` is seconds,
``""`` a plain ratio, and ``SENSOR_UNIT`` the unit of the sensor's own quantity
(``SENSOR_UNIT + " per s"`` per second of it). Ranges are inclusive unless ``lo_open``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import PlantError, unknown_name

__all__ = ["FaultParam", "FaultMode", "PART_FAULTS", "SENSOR_FAULTS", "SENSOR_UNIT",
           "fault_params"]

#: The unit of a sensor fault parameter that is in the sensor's own quantity.
SENSOR_UNIT = "the sensor's unit"


@dataclass(frozen=True)
class FaultParam:
    """One keyword parameter of a fault mode."""

    name: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False          # lo itself is outside the range
    default: float | None = None   # used when not given (None and not required: see doc)
    required: bool = False
    doc: str = ""

    def range_text(self) -> str:
        lo = "" if self.lo is None else f"{'>' if self.lo_open else '>='} {self.lo:g}"
        hi = "" if self.hi is None else f"<= {self.hi:g}"
        if lo and hi and not self.lo_open:
            return f"{self.lo:g}..{self.hi:g}"
        return " and ".join(p for p in (lo, hi) if p)

    def in_range(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return False
        return self.hi is None or value <= self.hi


@dataclass(frozen=True)
class FaultMode:
    """A fault mode of a target (a part or a sensor) and the parameters it takes."""

    name: str
    params: tuple[FaultParam, ...] = ()
    doc: str = ""

    def param(self, name: str) -> FaultParam | None:
        return next((p for p in self.params if p.name == name), None)


def _degraded(name: str, factor: float, what: str) -> FaultMode:
    return FaultMode(name, (
        FaultParam("factor", "", 0.0, 2.0, default=factor,
                   doc=f"{what} relative to healthy (1.0)"),
        FaultParam("ramp_s", "s", 0.0, default=0.0,
                   doc="reached linearly over this time (0: at once)"),
    ), doc=f"{what} scaled by factor")


_STUCK_WASTEGATE = (FaultMode("stuck_open", doc="wastegate held fully open"),
                    FaultMode("stuck_closed", doc="wastegate held closed"))

#: Part faults: target -> mode -> its declaration.
PART_FAULTS: Mapping[str, Mapping[str, FaultMode]] = {
    "turbo.wastegate": {m.name: m for m in _STUCK_WASTEGATE},
    "turbo": {"efficiency_degraded": _degraded("efficiency_degraded", 0.7,
                                               "compressor and turbine efficiency")},
    "injectors": {"degraded": _degraded("degraded", 0.7, "injector flow")},
    "knock_sensor": {"dead": FaultMode("dead", doc="no knock signal at all"),
                     "degraded": _degraded("degraded", 0.5, "knock sensor sensitivity")},
    "cooling": {"degraded": _degraded("degraded", 0.3, "radiator capacity")},
}

#: Sensor faults, the same for every sensor: mode -> its declaration.
SENSOR_FAULTS: Mapping[str, FaultMode] = {m.name: m for m in (
    FaultMode("stuck", (FaultParam("value", SENSOR_UNIT,
                                   doc="the reading it sticks at (default: the last one)"),),
              doc="the reading freezes"),
    FaultMode("offset", (FaultParam("value", SENSOR_UNIT, required=True,
                                    doc="added to the reading"),), doc="a constant offset"),
    FaultMode("drift", (FaultParam("rate_per_s", SENSOR_UNIT + " per s", required=True,
                                   doc="added per second since the injection"),),
              doc="an offset growing linearly"),
    FaultMode("noise", (FaultParam("std", SENSOR_UNIT, 0.0, required=True,
                                   doc="standard deviation of extra white noise"),),
              doc="extra white noise"),
    FaultMode("open", doc="open circuit: the reading goes to the DBC range maximum"),
    FaultMode("short", doc="short circuit: the reading goes to the DBC range minimum"),
    FaultMode("intermittent", (
        FaultParam("period_s", "s", 0.0, lo_open=True, default=1.0, doc="period"),
        FaultParam("duty", "", 0.0, 1.0, default=0.5,
                   doc="fraction of each period the sensor works")),
        doc="an open circuit for the last (1 - duty) of every period"),
)}


def fault_params(target: str, mode: FaultMode, params: Mapping[str, object]) -> dict[str, float | None]:
    """``params`` checked against ``mode`` with the defaults filled in, as floats.

    Unknown, missing, non-numeric and out-of-range values raise :class:`PlantError`
    naming the closest valid parameter."""
    allowed = {p.name: p for p in mode.params}
    for key in params:
        if key not in allowed:
            raise unknown_name(f"parameter of fault {target}/{mode.name}", key,
                               list(allowed) or ["(none)"])
    out: dict[str, float | None] = {}
    for p in mode.params:
        raw = params.get(p.name, p.default)
        if raw is None:
            if p.required:
                raise PlantError(f"fault {target}/{mode.name} needs parameter {p.name!r}")
            out[p.name] = None
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise PlantError(f"fault {target}/{mode.name}: {p.name} must be a number, "
                             f"got {raw!r}")
        value = float(raw)
        if not p.in_range(value):
            raise PlantError(f"fault {target}/{mode.name}: {p.name} must be "
                             f"{p.range_text()}, got {value:g}")
        out[p.name] = value
    return out
