"""FMU plants: a co-simulation FMU (FMI 2.0) through FMPy, as the whole plant or as one
part of the composite plant (docs/plants/fmu.md).

    from plants.fmu import FmuPart, Link
    plant = build_plant("road_car")
    FmuPart("roadload.fmu", slot="road_load",
            inputs=[Link("v", "vehicle.speed_kph"), Link("grade", "road.grade_pct")],
            outputs=[Link("F_total", "vehicle.road_load_n")],
            parameters={"m": 1500.0}).attach(plant)

The FMU is stepped in simulated time with the plant's step: at plant time t it gets the
mapped quantities (converted to its units), does ``doStep(t, dt)`` and its outputs
(converted to the plant's units) are the part's result for that step. Units come from
the FMU's unit definitions (FMI BaseUnit exponents, factor, offset) or, when it has none,
from the unit's name; the plant's unit from the quantity's suffix (``_kph``: km/h,
``_pct``: %, ...; none: dimensionless). Every problem (a missing variable, a wrong
causality, units that do not convert, an FMI call that fails) is one :class:`FmuError`
line; its ``ref`` says which entry of the map it is about, so a loader can name the line.

This module lives in plants/ because it is physics: it steps a model, maps quantities and
converts units, and is usable from Python without the bench; it never imports the bench.
FMPy is imported when an FMU is loaded (the ``fmu`` extra), so ``import plants`` does not
need it.
"""

from __future__ import annotations

import ctypes
import math
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PlantError
from .faults import FaultMode

#: FMI base units, in the order of an FMI 2.0 BaseUnit element.
BASE = ("kg", "m", "s", "A", "K", "mol", "cd", "rad")


def _u(factor: float = 1.0, offset: float = 0.0, **exp: int) -> tuple[tuple[int, ...], float, float]:
    return tuple(exp.get(b, 0) for b in BASE), factor, offset


#: Units by name: (base exponents, factor, offset), value in SI = factor * value + offset.
UNITS = {
    "1": _u(), "": _u(), "%": _u(0.01),
    "m": _u(m=1), "km": _u(1e3, m=1), "m2": _u(m=2), "s": _u(s=1), "ms": _u(1e-3, s=1),
    "kg": _u(kg=1), "g": _u(1e-3, kg=1), "mg": _u(1e-6, kg=1), "kg/m3": _u(kg=1, m=-3),
    "m/s": _u(m=1, s=-1), "km/h": _u(1 / 3.6, m=1, s=-1), "m/s2": _u(m=1, s=-2),
    "g_n": _u(9.80665, m=1, s=-2),
    "N": _u(kg=1, m=1, s=-2), "kN": _u(1e3, kg=1, m=1, s=-2),
    "N.m": _u(kg=1, m=2, s=-2), "Nm": _u(kg=1, m=2, s=-2),
    "W": _u(kg=1, m=2, s=-3), "kW": _u(1e3, kg=1, m=2, s=-3),
    "Pa": _u(kg=1, m=-1, s=-2), "kPa": _u(1e3, kg=1, m=-1, s=-2),
    "bar": _u(1e5, kg=1, m=-1, s=-2),
    "K": _u(K=1), "degC": _u(1.0, 273.15, K=1),
    "rad": _u(rad=1), "deg": _u(math.pi / 180, rad=1),
    "rad/s": _u(rad=1, s=-1), "rpm": _u(2 * math.pi / 60, rad=1, s=-1),
    "kg/s": _u(kg=1, s=-1), "g/s": _u(1e-3, kg=1, s=-1),
}
#: The unit of a plant quantity, by the suffix of its name (docs/interfaces.md); a name
#: with none of these suffixes is dimensionless.
SUFFIX_UNITS = {
    "_kph": "km/h", "_mps": "m/s", "_m": "m", "_n": "N", "_nm": "N.m", "_kw": "kW",
    "_kpa": "kPa", "_pa": "Pa", "_bar": "bar", "_c": "degC", "_k": "K", "_rpm": "rpm",
    "_deg": "deg", "_pct": "%", "_gps": "g/s", "_mg": "mg", "_kg": "kg", "_s": "s",
    "_g": "g_n", "_m2": "m2", "_kg_m3": "kg/m3",
}
#: The parts of the composite plant an FMU can replace: slot -> (quantities the FMU may
#: give, the ones it must give).
SLOTS = {
    "road_load": (("vehicle.road_load_n", "aero.drag_n"), ("vehicle.road_load_n",)),
}


def quantity_unit(quantity: str) -> str:
    """The unit of a plant quantity, from its name's suffix (longest suffix first)."""
    for suffix in sorted(SUFFIX_UNITS, key=len, reverse=True):
        if quantity.endswith(suffix):
            return SUFFIX_UNITS[suffix]
    return "1"


class FmuError(PlantError):
    """An FMU cannot be used as asked; ``ref`` is the map entry it is about, e.g.
    ("inputs", "v"), ("parameters", "m"), ("path",) or None (the FMU as a whole)."""

    def __init__(self, message: str, ref: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.ref = ref


@dataclass(frozen=True)
class Link:
    """One FMU variable joined to one plant quantity; ``unit`` is the FMU variable's unit
    when the FMU declares none (a declared unit must match it)."""

    variable: str
    quantity: str
    unit: str | None = None


class _Conversion:
    __slots__ = ("scale", "offset")

    def __init__(self, scale: float, offset: float) -> None:
        self.scale = scale
        self.offset = offset


def _conversion(src: tuple[tuple[int, ...], float, float], dst: tuple[tuple[int, ...], float, float]
                ) -> _Conversion | None:
    """value_dst = scale * value_src + offset, or None when the dimensions differ."""
    if src[0] != dst[0]:
        return None
    # SI = f_s * x + o_s = f_d * y + o_d
    return _Conversion(src[1] / dst[1], (src[2] - dst[2]) / dst[1])


class Fmu:
    """One instance of a co-simulation FMU, initialised with its parameters."""

    def __init__(self, path: str | Path, parameters: Mapping[str, float] | None = None, *,
                 name: str = "fmu") -> None:
        try:
            import fmpy
            from fmpy.fmi2 import (
                FMU2Slave,
                fmi2CallbackAllocateMemoryTYPE,
                fmi2CallbackFreeMemoryTYPE,
                fmi2CallbackFunctions,
                fmi2CallbackLoggerTYPE,
            )
        except ImportError:
            raise FmuError("FMU plants need FMPy: pip install 'ntec-hil[fmu]'", ("path",)) from None
        self.path = Path(path)
        self.label = self.path.name
        if not self.path.is_file():
            raise FmuError(f"FMU {str(self.path)!r} does not exist", ("path",))
        try:
            md = fmpy.read_model_description(str(self.path))
        except Exception as exc:  # a broken zip or model description: FMPy's own words
            raise FmuError(f"{self.label}: not a readable FMU: {_one_line(exc)}", ("path",)) from None
        if md.fmiVersion != "2.0":
            raise FmuError(f"{self.label}: FMI {md.fmiVersion} is not supported here, only "
                           "FMI 2.0 co-simulation", ("path",))
        if md.coSimulation is None:
            raise FmuError(f"{self.label}: not a co-simulation FMU (model exchange only)", ("path",))
        self.model_description = md
        self.variables = {v.name: v for v in md.modelVariables}
        self._units = {u.name: u for u in md.unitDefinitions}
        self.messages: list[str] = []
        messages = self.messages

        def log(env: Any, instance: Any, status: int, category: Any, message: Any) -> None:
            text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
            messages.append(" ".join(text.split()))

        callbacks = fmi2CallbackFunctions()
        callbacks.logger = fmi2CallbackLoggerTYPE(log)
        callbacks.allocateMemory = fmi2CallbackAllocateMemoryTYPE(fmpy.calloc)
        callbacks.freeMemory = fmi2CallbackFreeMemoryTYPE(fmpy.free)
        try:
            from fmpy.logging import addLoggerProxy

            addLoggerProxy(ctypes.byref(callbacks))   # formats the FMU's printf-style messages
        except Exception:  # noqa: BLE001 - without the proxy messages stay unformatted
            pass
        self._callbacks = (callbacks, log)      # kept alive as long as the instance
        self._dir = tempfile.mkdtemp(prefix="ntec-fmu-")
        self._slave: Any = None
        self._holder: list[Any] = [None]          # the instance to free at collection
        self._finalizer = weakref.finalize(self, _cleanup, self._holder, self._dir)
        try:
            fmpy.extract(str(self.path), self._dir)
            slave = FMU2Slave(guid=md.guid, unzipDirectory=self._dir,
                              modelIdentifier=md.coSimulation.modelIdentifier,
                              instanceName=name)
        except Exception as exc:
            raise FmuError(f"{self.label}: cannot load its binary for this platform: "
                           f"{_one_line(exc)}", ("path",)) from None
        self._call("fmi2Instantiate", slave.instantiate, callbacks=callbacks)
        self._slave = self._holder[0] = slave
        self._call("fmi2SetupExperiment", slave.setupExperiment, startTime=0.0)
        self._call("fmi2EnterInitializationMode", slave.enterInitializationMode)
        for var, value in (parameters or {}).items():
            v = self.variable(var, ("parameter",), ("parameters", var))
            self._set(v, value, ("parameters", var))
        self._call("fmi2ExitInitializationMode", slave.exitInitializationMode)
        self._set_real = slave.setReal
        self._get_real = slave.getReal
        self._do_step = slave.doStep

    # -- variables -------------------------------------------------------------------
    def variable(self, name: str, causalities: Sequence[str], ref: tuple[str, ...]) -> Any:
        v = self.variables.get(name)
        if v is None:
            from .errors import unknown_name

            candidates = [n for n, x in self.variables.items() if x.causality in causalities]
            raise FmuError(f"{self.label}: {unknown_name(f'{causalities[0]} variable', name, candidates or self.variables)}",
                           ref)
        if v.causality not in causalities:
            raise FmuError(f"{self.label}: variable {name!r} is a {v.causality}, not "
                           f"{' or '.join(causalities)}", ref)
        return v

    def unit_of(self, v: Any, given: str | None, ref: tuple[str, ...]) -> tuple[str, tuple[tuple[int, ...], float, float]]:
        declared = v.unit or (v.declaredType.unit if v.declaredType is not None else None)
        if declared and given and declared != given:
            raise FmuError(f"{self.label}: variable {v.name!r} is in {declared}, not {given}", ref)
        name = declared or given
        if not name:
            return "1", UNITS["1"]
        unit = self._units.get(name)
        if unit is not None and unit.baseUnit is not None:
            b = unit.baseUnit
            return name, (tuple(int(getattr(b, k) or 0) for k in BASE), float(b.factor or 1.0),
                          float(b.offset or 0.0))
        if name in UNITS:
            return name, UNITS[name]
        raise FmuError(f"{self.label}: variable {v.name!r} is in {name!r}, a unit without "
                       f"base units in the FMU and not one of {', '.join(sorted(u for u in UNITS if u))}",
                       ref)

    def _set(self, v: Any, value: Any, ref: tuple[str, ...]) -> None:
        s = self._slave
        try:
            if v.type == "Real":
                self._call("fmi2SetReal", s.setReal, [v.valueReference], [float(value)], ref=ref)
            elif v.type in ("Integer", "Enumeration"):
                if float(value) != int(value):
                    raise FmuError(f"{self.label}: {v.name!r} takes a whole number, got {value!r}", ref)
                self._call("fmi2SetInteger", s.setInteger, [v.valueReference], [int(value)], ref=ref)
            elif v.type == "Boolean":
                self._call("fmi2SetBoolean", s.setBoolean, [v.valueReference], [bool(value)], ref=ref)
            else:
                raise FmuError(f"{self.label}: {v.name!r} is a {v.type}; only numbers are set", ref)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FmuError):
                raise
            raise FmuError(f"{self.label}: {v.name!r}: expected a number, got {value!r}", ref) from None

    def _call(self, what: str, fn: Any, *args: Any, ref: tuple[str, ...] | None = None,
              **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except Exception as exc:  # FMPy raises FMICallException or plain Exception
            raise FmuError(self.failure(what, exc), ref) from None

    def failure(self, what: str, exc: BaseException | None = None) -> str:
        said = f": {self.messages[-1]}" if self.messages else ""
        why = f" ({_one_line(exc)})" if exc is not None and not said else ""
        return f"FMU {self.label}: {what} failed{why}{said}"

    def close(self) -> None:
        self._finalizer()


def _cleanup(holder: list[Any], directory: str) -> None:
    slave = holder[0]
    holder[0] = None
    if slave is not None:
        try:
            slave.terminate()
            slave.freeInstance()
        except Exception:  # noqa: BLE001 - best effort at teardown
            pass
    shutil.rmtree(directory, ignore_errors=True)


def _one_line(exc: BaseException | None) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Coupling:
    """Mapped inputs and outputs of one FMU, with their unit conversions, and its step."""

    def __init__(self, fmu: Fmu, inputs: Sequence[Link], outputs: Sequence[Link]) -> None:
        self.fmu = fmu
        self.inputs: list[tuple[str, int, float, float]] = []     # quantity, vr, scale, offset
        self.outputs: list[tuple[str, int, float, float]] = []
        for kind, links, causalities in (("inputs", inputs, ("input",)),
                                         ("outputs", outputs, ("output",))):
            for link in links:
                ref = (kind, link.variable)
                v = fmu.variable(link.variable, causalities, ref)
                if v.type != "Real":
                    raise FmuError(f"{fmu.label}: {link.variable!r} is a {v.type}; mapped "
                                   "variables are Real", ref)
                fmu_unit, fmu_def = fmu.unit_of(v, link.unit, ref)
                plant_unit = quantity_unit(link.quantity)
                plant_def = UNITS[plant_unit]
                conv = (_conversion(plant_def, fmu_def) if kind == "inputs"
                        else _conversion(fmu_def, plant_def))
                if conv is None:
                    raise FmuError(f"{fmu.label}: {link.variable!r} is in {fmu_unit}, which does "
                                   f"not convert to {link.quantity} in {plant_unit}", ref)
                getattr(self, kind).append((link.quantity, v.valueReference, conv.scale, conv.offset))
        self._in_vr = [vr for _, vr, _, _ in self.inputs]
        self._out_vr = [vr for _, vr, _, _ in self.outputs]

    def step(self, t: float, dt: float, read: Any) -> list[float]:
        """Set the inputs from ``read(quantity)``, step [t, t + dt], return the outputs in
        the plant's units (in the order of the output links)."""
        fmu = self.fmu
        if self._in_vr:
            values = [read(q) * scale + offset for q, _, scale, offset in self.inputs]
            try:
                fmu._set_real(self._in_vr, values)
            except Exception as exc:
                raise FmuError(fmu.failure(f"fmi2SetReal at t={t:.6g} s", exc)) from None
        try:
            fmu._do_step(currentCommunicationPoint=t, communicationStepSize=dt)
        except Exception as exc:
            raise FmuError(fmu.failure(f"fmi2DoStep at t={t:.6g} s", exc)) from None
        try:
            raw = fmu._get_real(self._out_vr) if self._out_vr else []
        except Exception as exc:
            raise FmuError(fmu.failure(f"fmi2GetReal at t={t:.6g} s", exc)) from None
        return [x * scale + offset for x, (_, _, scale, offset) in zip(raw, self.outputs, strict=True)]


class FmuPart:
    """An FMU that replaces one part (a slot of :data:`SLOTS`) of a composite plant.

    Its inputs read any plant input or output (outputs as published so far in the step:
    what the part's slot sees, e.g. the vehicle's speed at the step start); its outputs
    are the slot's quantities (``vehicle.road_load_n`` required, ``aero.drag_n``
    optional: when not mapped it keeps the built-in model's figure).
    """

    def __init__(self, path: str | Path, *, slot: str, inputs: Sequence[Link],
                 outputs: Sequence[Link], parameters: Mapping[str, float] | None = None) -> None:
        if slot not in SLOTS:
            from .errors import unknown_name

            raise FmuError(str(unknown_name("part", slot, SLOTS)), ("replaces",))
        allowed, required = SLOTS[slot]
        for link in outputs:
            if link.quantity not in allowed:
                raise FmuError(f"the {slot} part gives {', '.join(allowed)}, not "
                               f"{link.quantity!r}", ("outputs", link.variable))
        given = {link.quantity for link in outputs}
        for quantity in required:
            if quantity not in given:
                raise FmuError(f"an FMU that replaces {slot} must give {quantity} (map one of "
                               "its outputs to it)", ("outputs",))
        self.slot = slot
        self._input_links = list(inputs)
        self.fmu = Fmu(path, parameters, name=slot)
        self.coupling = _Coupling(self.fmu, inputs, outputs)
        self._index = {q: i for i, (q, _, _, _) in enumerate(self.coupling.outputs)}
        self._plant: Any = None

    def attach(self, plant: Any) -> Any:
        """Put the part into ``plant`` (a CompositePlant) and return the plant."""
        if not hasattr(plant, f"{self.slot}_part"):
            raise FmuError(f"the plant ({type(plant).__name__}) has no part {self.slot!r} an "
                           "FMU can replace", ("replaces",))
        names = set(plant.input_names) | set(plant.output_names)
        for link in self._input_links:
            if link.quantity not in names:
                from .errors import unknown_name

                raise FmuError(str(unknown_name("plant quantity", link.quantity, names)),
                               ("inputs", link.variable))
        if self.slot == "road_load":
            plant.road_load_part = self
        self._plant = plant
        self._inputs, self._outputs = plant.inputs, plant.outputs
        return plant

    def _read(self, quantity: str) -> float:
        if quantity in self._inputs:
            return self._inputs[quantity]
        return self._outputs[quantity]

    @property
    def param_names(self) -> tuple[str, ...]:
        """The FMU's parameters as a scenario's params: names them (``fmu.<name>``)."""
        return tuple(f"fmu.{n}" for n, v in self.fmu.variables.items()
                     if v.causality == "parameter")

    def __call__(self, t: float, dt: float, road_load_n: float, drag_n: float
                 ) -> tuple[float, float]:
        """The road_load slot: (road load, drag) [N] of the step at ``t``."""
        out = self.coupling.step(t, dt, self._read)
        road_load_n = out[self._index["vehicle.road_load_n"]]
        i = self._index.get("aero.drag_n")
        return road_load_n, (out[i] if i is not None else drag_n)


class FmuPlant:
    """An FMU as the whole plant (docs/plants/contract.md): its mapped inputs are the
    plant's inputs (start values from the FMU), its mapped outputs the plant's outputs.
    It has no driver modes but ``manual``, no settable state and no fault modes."""

    def __init__(self, path: str | Path, *, inputs: Sequence[Link], outputs: Sequence[Link],
                 parameters: Mapping[str, float] | None = None) -> None:
        self.fmu = Fmu(path, parameters, name="plant")
        self.coupling = _Coupling(self.fmu, inputs, outputs)
        self.input_names = tuple(q for q, _, _, _ in self.coupling.inputs)
        self.output_names = tuple(q for q, _, _, _ in self.coupling.outputs)
        if len(set(self.output_names)) != len(self.output_names):
            raise FmuError("two FMU outputs map to the same plant quantity", ("outputs",))
        self.inputs: dict[str, float] = {}
        for (q, _, scale, offset), link in zip(self.coupling.inputs, inputs, strict=True):
            start = self.fmu.variables[link.variable].start
            # plant = (fmu - offset) / scale
            self.inputs[q] = (float(start) - offset) / scale if start is not None else 0.0
        self.outputs: dict[str, float] = dict.fromkeys(self.output_names, 0.0)
        self.time_s = 0.0
        self.steps = 0
        self.param_names = tuple(f"fmu.{n}" for n, v in self.fmu.variables.items()
                                 if v.causality == "parameter")

    def step(self, dt: float, inputs: dict[str, float] | None = None) -> dict[str, float]:
        if not dt > 0.0:
            raise PlantError(f"step size must be > 0, got {dt}")
        u = self.inputs if inputs is None else inputs
        values = self.coupling.step(self.time_s, dt, u.__getitem__)
        o = self.outputs
        for name, value in zip(self.output_names, values, strict=True):
            o[name] = value
        self.steps += 1
        self.time_s = self.steps * dt
        return o

    def set_driver_mode(self, mode: str, **cfg: Any) -> None:
        if mode != "manual" or cfg:
            raise PlantError(f"an FMU plant has only driver mode 'manual', not {mode!r}")

    def set_state(self, **values: float) -> None:
        if values:
            raise PlantError(f"an FMU plant has no settable state ({next(iter(values))!r}); "
                             "set its parameters instead")

    def fault_modes(self) -> dict[str, Mapping[str, FaultMode]]:
        return {}

    def inject_fault(self, target: str, mode: str, **params: float) -> None:
        raise PlantError(f"an FMU plant has no fault targets ({target!r})")

    def clear_fault(self, target: str) -> None:
        raise PlantError(f"an FMU plant has no fault targets ({target!r})")

    def active_faults(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        self.fmu.close()
