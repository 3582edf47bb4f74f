"""The plant node: the physics plant on the bus.

A node only sees a ``can.BusABC``. Reception is pushed where the bus can push
(the simulated bus calls back at the end of each frame, in simulated time) and
polled by the wall clock otherwise: :func:`hil.nodes.adapters.attach_receiver`
probes the optional ability and falls back.

The plant node steps the composite plant every rig step, publishes sensor
quantities into DBC signals through the rig's signal map at the DBC cycle times
(with alive counters and CRCs), applies the actuator signals it receives, and
samples every plant quantity into the trace.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import can

from hil.config.rig import SignalLink
from hil.errors import ConfigError, PlantStepError
from hil.nodes import PLANT
from hil.nodes.adapters import attach_receiver, frame_sender, initial_value
from hil.wire.codec import Codec
from hil.wire.dbc import cycle_time_ns, e2e_data_id
from hil.wire.e2e import E2ERx, E2ETx
from hil.wire.flags import USABLE
from plants.errors import PlantError


class _Publication:
    """One plant-sent message: the links that fill it, its encoder and its cycle."""

    __slots__ = ("name", "frame_id", "is_extended", "links", "values", "encode", "cycle_steps",
                 "offset_steps")

    def __init__(self, name: str, frame_id: int, is_extended: bool, links: list[SignalLink],
                 encode: Callable[[dict[str, float]], bytes], cycle_steps: int,
                 offset_steps: int) -> None:
        self.name = name
        self.frame_id = frame_id
        self.is_extended = is_extended
        self.links = [(lk.signal, lk.quantity, lk.scale, lk.offset) for lk in links]
        self.values: dict[str, float] = {}
        self.encode = encode
        self.cycle_steps = cycle_steps
        self.offset_steps = offset_steps


class PlantNode:
    """Steps the plant and joins it to the bus through the rig's signal map."""

    def __init__(self, env: Any, bus: can.BusABC, plant: Any, db: Any, codec: Codec, *,
                 publish: list[SignalLink], apply: list[SignalLink], step_ns: int,
                 node: str = PLANT, trace: Any = None) -> None:
        self.env = env
        self.bus = bus
        self.plant = plant
        self.step_ns = step_ns
        self.trace = trace
        self.node = node
        self.steps = 0
        self.frames_sent = 0
        self.frames_applied = 0
        self.frames_rejected = 0
        self.step_hooks: list[Callable[[int], None]] = []
        by_signal = {lk.signal: lk for lk in publish}
        self._pubs: list[_Publication] = []
        for i, message in enumerate(m for m in db.messages if node in m.senders):
            links = [by_signal[s.name] for s in message.signals if s.name in by_signal]
            if not links:
                continue
            cycle = cycle_time_ns(message)
            if not cycle or cycle % step_ns:
                raise ConfigError(f"message {message.name}: cycle time {cycle} ns is not a "
                                  f"multiple of the plant step {step_ns} ns")
            mc = codec.message(message.name)
            e2e_id = e2e_data_id(message)
            encode = E2ETx(mc, e2e_id).protect if e2e_id is not None else mc.encode
            cycle_steps = cycle // step_ns
            pub = _Publication(message.name, message.frame_id, message.is_extended_frame,
                               links, encode, cycle_steps,
                               offset_steps=(13 * i + 1) % cycle_steps)
            for sig in message.signals:
                pub.values[sig.name] = initial_value(sig)
            self._pubs.append(pub)
        apply_by_signal = {lk.signal: lk for lk in apply}
        self._apply: dict[int, tuple[Any, E2ERx | None, list[tuple[str, str, float, float]],
                                     dict[str, float]]] = {}
        for message in db.messages:
            links = [apply_by_signal[s.name] for s in message.signals
                     if s.name in apply_by_signal]
            if not links or node in message.senders:
                continue
            e2e_id = e2e_data_id(message)
            self._apply[message.frame_id] = (
                codec.message(message.name), E2ERx(e2e_id) if e2e_id is not None else None,
                [(lk.signal, lk.quantity, lk.scale, lk.offset) for lk in links], {})

    def start(self) -> None:
        attach_receiver(self.env, self.bus, self._on_data)
        self.env.process(self._run())

    def _on_data(self, arbitration_id: int, data: bytes) -> None:
        entry = self._apply.get(arbitration_id)
        if entry is None:
            return
        codec, e2e, links, values = entry
        # An actuator frame that fails its CRC is not applied: the last good command holds.
        if e2e is not None and e2e.check(data) not in USABLE:
            self.frames_rejected += 1
            return
        codec.decode_into(data, values)
        inputs = self.plant.inputs
        for signal, quantity, scale, offset in links:
            inputs[quantity] = (values[signal] - offset) / scale
        self.frames_applied += 1

    def _run(self):
        env = self.env
        plant = self.plant
        inputs = plant.inputs
        outputs = plant.outputs
        dt = self.step_ns / 1e9
        step_ns = self.step_ns
        trace = self.trace
        send = frame_sender(self.bus)
        hooks = self.step_hooks
        # Which publications are due at each step of one common cycle (in _pubs order),
        # instead of a modulo per publication per step.
        cycle = math.lcm(*(pub.cycle_steps for pub in self._pubs)) if self._pubs else 1
        if cycle > 10_000:
            cycle = 1
            due = [self._pubs]
            check = True
        else:
            due = [[pub for pub in self._pubs if k % pub.cycle_steps == pub.offset_steps]
                   for k in range(cycle)]
            check = False
        n = 0
        while True:
            now = env.now
            for hook in hooks:
                hook(now)
            try:
                plant.step(dt, inputs)
            except PlantError as exc:   # the plant refuses on purpose (an FMU's error)
                raise PlantStepError(f"plant step at t={now / 1e9:.4f} s: "
                                     f"{' '.join(str(exc).split())}") from None
            if trace is not None:
                trace.add_sample(now, outputs.values())
            for pub in due[n % cycle]:
                if not check or n % pub.cycle_steps == pub.offset_steps:
                    values = pub.values
                    for signal, quantity, scale, offset in pub.links:
                        values[signal] = outputs[quantity] * scale + offset
                    send(pub.frame_id, pub.encode(values), pub.is_extended)
                    self.frames_sent += 1
            n += 1
            self.steps = n
            yield env.timeout(n * step_ns - env.now)
