"""The operator's node: sends the DBC's bench command message (``BenchCmd``) for the scenario."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import can

from hil.errors import ConfigError
from hil.nodes import BENCH
from hil.nodes.adapters import frame_sender, initial_value
from hil.wire.codec import Codec
from hil.wire.dbc import cycle_time_ns, e2e_data_id
from hil.wire.e2e import E2ETx


class BenchNode:
    """The operator's node: sends BenchCmd (emergency stop, approvals) and can watch the bus.

    Scenario steps set ``commands``; the node sends them at the message's cycle
    time, and momentary commands (approve, reject, reset) are cleared after
    ``hold_cycles`` transmissions so the ECU sees one rising edge.
    """

    def __init__(self, env: Any, bus: can.BusABC, db: Any, codec: Codec, *,
                 node: str = BENCH, hold_cycles: int = 2) -> None:
        self.env = env
        self.bus = bus
        self.node = node
        self.hold_cycles = hold_cycles
        self._msgs = []
        self.commands: dict[str, float] = {}
        self._momentary: dict[str, int] = {}
        for message in db.messages:
            # Event messages (no cycle time: the session's reset request) are not the
            # operator's: the bench sends them once, on request (hil.bench.session).
            if node not in message.senders or cycle_time_ns(message) is None:
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
