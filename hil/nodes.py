"""Bench nodes on the bus: the plant node and the bench (operator) node.

A node only sees a ``can.BusABC``. Reception is pushed where the bus can push
(the simulated bus calls back at the end of each frame, in simulated time) and
polled by the wall clock otherwise: :func:`attach_receiver` probes the optional
ability and falls back (STYLE.md 2).

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

from hil.codec import Codec
from hil.dbc import cycle_time_ns, e2e_data_id
from hil.e2e import E2ERx, E2ETx
from hil.errors import ConfigError
from hil.rig import SignalLink


def initial_value(sig: Any) -> float:
    """A signal's value before anything was computed: its DBC initial value, inside its range."""
    value = float(sig.initial if sig.initial is not None else 0) * (sig.scale or 1) + (
        sig.offset or 0)
    if sig.minimum is not None and value < sig.minimum:
        value = float(sig.minimum)
    if sig.maximum is not None and value > sig.maximum:
        value = float(sig.maximum)
    return value


def attach_receiver(env: Any, bus: can.BusABC,
                    on_data: Callable[[int, bytes], None]) -> None:
    """Deliver every received frame to ``on_data(arbitration_id, data)``.

    Pushed where the bus can push: raw frames (the simulated bus's
    ``add_frame_callback``: no ``can.Message`` per frame), else python-can messages
    through ``add_rx_callback``; polled by the wall clock otherwise (STYLE.md 2).
    """
    def handler(msg: can.Message) -> None:
        on_data(msg.arbitration_id, msg.data)

    add_frame = getattr(bus, "add_frame_callback", None)
    if add_frame is not None:
        try:
            add_frame(on_data)
            return
        except NotImplementedError:
            pass
    add = getattr(bus, "add_rx_callback", None)
    if add is not None:
        try:
            add(handler)
            return
        except NotImplementedError:
            pass
    add_poller = getattr(env, "add_poller", None)
    if add_poller is None:
        raise ConfigError(f"{type(bus).__name__} cannot push frames and the clock cannot poll "
                          "it: real buses need the wall clock (clock: wall)")

    advance = getattr(env, "advance_to_wall", None)

    def poll(timeout: float) -> bool:
        msg = bus.recv(timeout)
        if msg is None:
            return False
        if advance is not None:
            advance()  # handle the frame at its arrival time, not at the start of the wait
        handler(msg)
        # Drain what else is queued without blocking.
        while (msg := bus.recv(0)) is not None:
            handler(msg)
        return True

    add_poller(poll)


def frame_sender(bus: can.BusABC) -> Callable[[int, bytes, bool], None]:
    """``send(arbitration_id, data, is_extended_id)`` for classic data frames.

    The bus's ``send_frame`` where it has one (the simulated bus: no ``can.Message`` per
    frame on the hot path), else a ``can.Message`` through ``bus.send`` (STYLE.md 2).
    """
    send_frame = getattr(bus, "send_frame", None)
    if send_frame is not None:
        return send_frame

    def send(arbitration_id: int, data: bytes, is_extended_id: bool = False) -> None:
        bus.send(can.Message(arbitration_id=arbitration_id, data=data,
                             is_extended_id=is_extended_id, check=False))

    return send


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
                 node: str = "PLANT", trace: Any = None) -> None:
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
        if e2e is not None and e2e.check(data) not in (0, 4):
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
            plant.step(dt, inputs)
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


class BenchNode:
    """The operator's node: sends BenchCmd (emergency stop, approvals) and can watch the bus.

    Scenario steps set ``commands``; the node sends them at the message's cycle
    time, and momentary commands (approve, reject, reset) are cleared after
    ``hold_cycles`` transmissions so the ECU sees one rising edge.
    """

    def __init__(self, env: Any, bus: can.BusABC, db: Any, codec: Codec, *,
                 node: str = "BENCH", hold_cycles: int = 2) -> None:
        self.env = env
        self.bus = bus
        self.node = node
        self.hold_cycles = hold_cycles
        self._msgs = []
        self.commands: dict[str, float] = {}
        self._momentary: dict[str, int] = {}
        for message in db.messages:
            if node not in message.senders:
                continue
            mc = codec.message(message.name)
            e2e_id = e2e_data_id(message)
            encode = E2ETx(mc, e2e_id).protect if e2e_id is not None else mc.encode
            self._msgs.append((message, encode, cycle_time_ns(message) or 100_000_000))
            for sig in message.signals:
                self.commands[sig.name] = initial_value(sig)
        self.frames_sent = 0

    def start(self) -> None:
        for i, (message, encode, cycle) in enumerate(self._msgs):
            self.env.process(self._cyclic(message, encode, cycle,
                                          offset=87_370_000 + i * 3_000_000))

    def set(self, signal: str, value: float, *, momentary: bool = False) -> None:
        if signal not in self.commands:
            raise ConfigError(f"the bench node sends no signal {signal!r}")
        self.commands[signal] = float(value)
        if momentary:
            self._momentary[signal] = self.hold_cycles

    def _cyclic(self, message: Any, encode: Callable[[dict[str, float]], bytes], cycle: int,
                offset: int):
        env = self.env
        send = frame_sender(self.bus)
        yield env.timeout(offset % cycle)
        start = env.now
        n = 0
        while True:
            send(message.frame_id, encode(self.commands), message.is_extended_frame)
            self.frames_sent += 1
            for signal in list(self._momentary):
                self._momentary[signal] -= 1
                if self._momentary[signal] <= 0:
                    del self._momentary[signal]
                    self.commands[signal] = 0.0
            n += 1
            yield env.timeout(start + n * cycle - env.now)
