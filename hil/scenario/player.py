"""Plays a scenario's steps on a bench and watches the bus for ``wait_until`` conditions.

The player is written against the bench's interface only (time, events, plant inputs,
faults), so the same steps run on the SIL bench and on a wall-clock bench.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hil.bus.faults import network_params
from hil.config.units import format_time_ns
from hil.errors import ConfigError, HilError, ScenarioError
from hil.scenario.model import Fault, Scenario, Step
from hil.wire.flags import FLAG_ERROR


class ScenarioAbort(HilError):
    """A step could not complete (a wait_until timed out); the run stops there."""


@dataclass
class StepRecord:
    index: int
    description: str
    t_ns: int | None
    status: str                       # done | timeout | not reached
    where: tuple[str, int, int] | None = None


# -- running --------------------------------------------------------------------------------

_UNSEEN: Any = object()


class _OnlineValues(Mapping[str, float]):
    """Latest values for conditions checked during the run: bus signals and plant outputs."""

    def __init__(self, bus_values: dict[str, float], plant_outputs: Mapping[str, float]) -> None:
        self._bus = bus_values
        self._plant = plant_outputs

    def __getitem__(self, name: str) -> float:
        value = self._bus.get(name, _UNSEEN)
        if value is _UNSEEN:
            return self._plant.get(name, math.nan)
        return value

    def __iter__(self) -> Iterator[str]:
        yield from self._bus
        yield from self._plant

    def __len__(self) -> int:
        return len(self._bus) + len(self._plant)


class _Monitor:
    """Decodes the frames a ``wait_until`` condition reads into the latest values.

    Only the messages carrying a signal the conditions name (plainly or as
    ``Message.signal``) are decoded; a condition over plant quantities only watches no
    frame at all. Every frame of a watched message is decoded, so each value read is the
    latest on the bus, as if every frame were decoded.
    """

    def __init__(self, bench: Any, names: Collection[str]) -> None:
        self.values: dict[str, float] = {}
        codec = bench.codec
        self._names: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
        for message in bench.db.messages:
            read = [(s.name, f"{message.name}.{s.name}") for s in message.signals
                    if s.name in names or f"{message.name}.{s.name}" in names]
            if read:
                # (decoder, [(signal, "Message.signal")]): a plain name is written by the
                # decoder; the qualified names read are copied from it.
                self._names[message.frame_id] = (
                    codec.message(message.frame_id).decode_into,
                    [(sig, q) for sig, q in read if q in names])
        if self._names:
            bench.network.add_frame_observer(self._observe_frame)

    def _observe_frame(self, t_end_ns: int, t_start_ns: int, arbitration_id: int, data: bytes,
                       sender: str, flags: int) -> None:
        entry = self._names.get(arbitration_id)
        if entry is None or flags & FLAG_ERROR:
            return
        decode_into, qualified = entry
        values = self.values
        decode_into(data, values)
        for sig, name in qualified:
            values[name] = values[sig]


class ScenarioPlayer:
    """Plays the steps of a scenario on a bench, in simulated time."""

    def __init__(self, bench: Any, scenario: Scenario) -> None:
        self.bench = bench
        self.scenario = scenario
        self.records = [StepRecord(s.index, s.describe(), None, "not reached", s.where)
                        for s in scenario.steps]
        self.error: str | None = None
        #: When the step error happened (a wait_until gave up), for the rig's qualify_error.
        self.error_t_ns: int | None = None
        self._bus_faults: list[tuple[Fault, Any]] = []
        self._frame_ids = {m.name: m.frame_id for m in bench.db.messages}
        self._lengths = {m.name: m.length for m in bench.db.messages}
        self._online: _OnlineValues | None = None
        conditions = [s.wait_until for s in scenario.steps if s.wait_until is not None]
        if conditions:
            monitor = _Monitor(bench, frozenset().union(*(c.names for c in conditions)))
            self._online = _OnlineValues(monitor.values, bench.plant.outputs)

    def process(self):
        env = self.bench.env
        for step, record in zip(self.scenario.steps, self.records, strict=True):
            if step.at_ns is not None:
                if step.at_ns > env.now:
                    yield env.timeout(step.at_ns - env.now)
            else:
                deadline = env.now + (step.timeout_ns or 0)
                while not self._holds(step):
                    if env.now >= deadline:
                        record.t_ns = env.now
                        record.status = "timeout"
                        where = ":".join(map(str, step.where)) + ": " if step.where else ""
                        self.error = (f"{where}wait_until {step.wait_until} did not hold within "
                                      f"{format_time_ns(step.timeout_ns or 0)} "
                                      f"(gave up at t={env.now / 1e9:.4f} s)")
                        self.error_t_ns = env.now
                        self.bench.event("timeout", self.error)
                        raise ScenarioAbort(self.error)
                    yield env.timeout(1_000_000)
            self.apply(step)
            record.t_ns = env.now
            record.status = "done"
            self.bench.event("step", step.describe())

    def _holds(self, step: Step) -> bool:
        assert self._online is not None and step.wait_until is not None
        try:
            return step.wait_until.holds(self._online)
        except (TypeError, ValueError):
            return False

    # -- actions -------------------------------------------------------------------------

    def apply(self, step: Step) -> None:
        if step.clear is not None:
            self._clear(step.clear.kind, step.clear.target)
        if step.fault is not None:
            self._inject(step.fault)
        for name, value in step.set.items():
            self._set(name, value)
        for name, ramp in step.ramp.items():
            self.bench.env.process(self._ramp(name, ramp.to, ramp.over_ns))
        operator = self.bench.rig.operator   # the rig names the operator's signals
        if step.approve:
            self.bench.operator.set(operator.approve[step.approve], 1, momentary=True)
        if step.reject:
            self.bench.operator.set(operator.reject[step.reject], 1, momentary=True)

    def _set(self, name: str, value: float) -> None:
        plant = self.bench.plant
        if name in plant.inputs:
            plant.inputs[name] = float(value)
        elif name in self.bench.operator.commands:
            self.bench.operator.set(name, value)
        else:
            short = name.split(".", 1)[-1]
            if short in self.bench.operator.commands:
                self.bench.operator.set(short, value)
            else:
                raise ConfigError(f"cannot set {name!r}: neither a plant input nor a bench signal")

    def _ramp(self, name: str, to: float, over_ns: int):
        env = self.bench.env
        inputs = self.bench.plant.inputs
        start_value = float(inputs[name])
        t0 = env.now
        step = 1_000_000
        while env.now - t0 < over_ns:
            yield env.timeout(step)
            frac = min((env.now - t0) / over_ns, 1.0)
            inputs[name] = start_value + (to - start_value) * frac

    def _inject(self, fault: Fault) -> None:
        bench = self.bench
        params = dict(fault.params)
        duration = params.pop("duration_ns", None)
        if fault.kind in ("part", "sensor"):
            # The loader stored the plant's own keywords and units (plants/faults.py).
            bench.plant.inject_fault(fault.target, fault.mode, **params)
        else:
            handle = bench.network.inject_fault(fault.mode, **network_params(
                fault.mode, fault.target, params, self._frame_ids, self._lengths))
            self._bus_faults.append((fault, handle))
        bench.event("fault", f"{fault.kind} fault {fault.target or ''} {fault.mode}".strip())
        if duration:
            ev = bench.env.timeout(duration)
            ev.callbacks.append(lambda _e, f=fault: self._clear(f.kind, f.target))

    def _clear(self, kind: str, target: str | None) -> None:
        bench = self.bench
        if kind in ("part", "sensor"):
            bench.plant.clear_fault(target)
        if kind in ("bus", "all"):
            keep = []
            for fault, handle in self._bus_faults:
                if kind == "all" or target is None or fault.target == target:
                    bench.network.clear_fault(handle)
                else:
                    keep.append((fault, handle))
            self._bus_faults = keep
        if kind == "all":
            for target_name in list(getattr(bench.plant, "active_faults", dict)()):
                bench.plant.clear_fault(target_name)
        bench.event("clear", f"clear {kind} {target or ''}".strip())


def prepare_plant(plant: Any, scenario: Scenario) -> None:
    """Mode and initial conditions of the scenario, before the first step."""
    if scenario.mode:
        try:
            plant.set_driver_mode(scenario.mode, **dict(scenario.mode_config))
        except ValueError as exc:
            raise ScenarioError(f"mode {scenario.mode}: {exc}", file=scenario.file,
                                line=scenario.where[1] if scenario.where else None) from None
    state = {}
    for name, value in scenario.initial.items():
        if name in plant.inputs:
            plant.inputs[name] = float(value)
        else:
            state[name] = float(value)
    if state:
        try:
            plant.set_state(**state)
        except ValueError as exc:
            raise ScenarioError(f"initial: {exc}", file=scenario.file,
                                line=scenario.where[1] if scenario.where else None) from None
