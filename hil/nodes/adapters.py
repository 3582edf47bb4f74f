"""How a node meets its bus: one receiver callback, one raw-frame sender.

Probes the bus's optional fast paths (the simulated bus's ``add_frame_callback`` and
``send_frame``) and falls back to python-can's ``Notifier`` and ``send`` on any other bus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import can

from hil.errors import ConfigError


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
    through ``add_rx_callback``; polled by the wall clock otherwise.
    """
    def handler(msg: can.Message) -> None:
        on_data(msg.arbitration_id, bytes(msg.data))

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
    frame on the hot path), else a ``can.Message`` through ``bus.send``.
    """
    send_frame = getattr(bus, "send_frame", None)
    if send_frame is not None:
        return send_frame

    def send(arbitration_id: int, data: bytes, is_extended_id: bool = False) -> None:
        bus.send(can.Message(arbitration_id=arbitration_id, data=data,
                             is_extended_id=is_extended_id, check=False))

    return send
