"""Real buses: ``can.Bus(**rig.bus)`` with one-line errors, recorded like the simulated one.

:func:`open_bus` opens any python-can interface a rig names (udp_multicast, socketcan,
pcan, virtual ...) and turns a missing driver or interface into one line naming the fix;
:class:`RecordingBus` wraps it so every frame sent and received reaches the bench's
observers (and the trace) with the interface's own timestamps.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import can

from hil.config.rig import RigConfig
from hil.config.units import NS_PER_S
from hil.errors import ConfigError, InterfaceUnavailable
from hil.wire.flags import FLAG_EXTENDED, FLAG_RX, FrameObserver

if TYPE_CHECKING:
    from hil.bench.clock import WallClockEnvironment

#: What to install or bring up, per python-can interface (one line each).
INSTALL_HINTS = {
    "udp_multicast": "install msgpack (pip install msgpack) and make sure multicast on "
                     "loopback works (ip link set lo multicast on)",
    "socketcan": "SocketCAN needs the kernel's can/vcan modules and the interface up: "
                 "modprobe vcan; ip link add dev vcan0 type vcan; "
                 "ip link set up vcan0 (a real adapter: ip link set can0 up type can "
                 "bitrate 500000); see docs/bench.md",
    "pcan": "install PEAK's PCAN-Basic library (Linux: libpcanbasic from peak-system.com, "
            "plus the peak_usb kernel module) and plug in the PCAN-USB adapter; see docs/bench.md",
    "kvaser": "install Kvaser CANlib (linuxcan) and plug in the adapter",
    "vector": "install the Vector XL driver library and configure the channel in Vector "
              "Hardware Config",
    "virtual": "python-can's virtual bus only connects buses inside one process",
}


def _one_line(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def open_bus(rig: RigConfig, **overrides: Any) -> can.BusABC:
    """``can.Bus(**rig.bus)``, or a one-line :class:`InterfaceUnavailable` naming the fix."""
    kwargs = {**rig.bus, **overrides}
    interface = str(kwargs.get("interface"))
    where = f"{kwargs.get('interface')} channel {kwargs.get('channel')!r}"
    # python-can's driver modules log warnings of their own while they probe (pcan:
    # "uptime library not available"); the one line below is what the user needs.
    quiet = logging.getLogger("can")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return can.Bus(**kwargs)
    except (can.CanError, ImportError, OSError, ValueError, NotImplementedError,
            AttributeError) as exc:
        hint = INSTALL_HINTS.get(interface, f"install the driver of python-can interface "
                                 f"{interface!r}")
        raise InterfaceUnavailable(
            f"rig {rig.name}: cannot open the bus ({where}): {_one_line(exc) or type(exc).__name__}"
            f" -> {hint}", file=str(rig.path)) from None
    finally:
        quiet.setLevel(level)


class RecordingBus(can.BusABC):
    """A real bus, seen through one wrapper that records and timestamps every frame.

    Nodes only see ``BusABC``: ``send`` and ``recv`` go to the real bus. Observers (the
    trace, the scenario's online monitor) see each frame once, as the simulated network
    shows it: ``fn(t_end_ns, t_start_ns, arbitration_id, data, sender, flags)`` with the
    flags of :mod:`hil.wire.flags` (FLAG_RX on frames received from the wire, not on the
    ones this process sent). On udp_multicast the sender also
    receives its own frames (multicast loopback); those echoes are recognised and
    dropped, so a frame is never recorded twice.
    """

    def __init__(self, bus: can.BusABC, env: WallClockEnvironment, senders: Mapping[int, str],
                 *, sender: str, own_echo: bool = False, stamp: str = "interface") -> None:
        self.inner = bus
        # The node a sent frame is recorded for when the DBC names no sender of its id.
        self._sender = sender
        # "interface": the receive timestamp of the interface (what a logger on the wire
        # sees); "handling": the clock's time when the node handled the frame (what an ECU
        # saw: its own trace replays exactly).
        self._stamp_handling = stamp == "handling"
        self.env = env
        self._senders = dict(senders)
        self._own_echo = own_echo
        self._pending: Counter[tuple[int, bytes]] = Counter()
        self._observers: list[FrameObserver] = []
        self._offset_s = 0.0
        self.frames_sent = 0
        self.frames_received = 0
        self.echoes_dropped = 0
        self.interface_stamps = 0
        self.bench_stamps = 0
        super().__init__(channel=getattr(bus, "channel_info", "wrapped"))
        self.channel_info = f"recording {getattr(bus, 'channel_info', type(bus).__name__)}"
        self.sync_clock()

    def sync_clock(self) -> None:
        """Map interface timestamps (epoch seconds) onto the bench clock (ns since origin)."""
        self._offset_s = time.time() - self.env.wall_now_ns() / NS_PER_S

    @property
    def origin_unix_s(self) -> float:
        """Unix time of the bench clock's t=0 (since the last :meth:`sync_clock`)."""
        return self._offset_s

    def add_frame_observer(self, fn: FrameObserver) -> None:
        self._observers.append(fn)

    @property
    def timestamp_source(self) -> str:
        if self._stamp_handling:
            return "clock time when the node handled the frame"
        if self.bench_stamps and not self.interface_stamps:
            return "bench clock at reception"
        if self.bench_stamps:
            return (f"interface receive timestamps ({self.bench_stamps} frames without one: "
                    "bench clock at reception)")
        return "interface receive timestamps"

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        # "handling": the node's own view, the clock's time it sent at (its schedule).
        t_handed = self.env.now if self._stamp_handling else self.env.wall_now_ns()
        self.inner.send(msg, timeout)
        self.frames_sent += 1
        if self._own_echo:
            self._pending[(msg.arbitration_id, bytes(msg.data))] += 1
        if self._observers:
            sender = self._senders.get(msg.arbitration_id, self._sender)
            data = bytes(msg.data)
            flags = FLAG_EXTENDED if msg.is_extended_id else 0
            for fn in self._observers:
                fn(t_handed, t_handed, msg.arbitration_id, data, sender, flags)

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        while True:
            msg = self.inner.recv(timeout)
            if msg is None:
                return None, True
            if self._own_echo and self._pending:
                key = (msg.arbitration_id, bytes(msg.data))
                if self._pending.get(key):
                    self._pending[key] -= 1
                    if not self._pending[key]:
                        del self._pending[key]
                    self.echoes_dropped += 1
                    timeout = 0
                    continue
            break
        self.frames_received += 1
        now = self.env.wall_now_ns()
        t = now
        stamp = msg.timestamp
        if self._stamp_handling:
            self.env.advance_to_wall()
            t = self.env.now
            self.bench_stamps += 1
        elif stamp:
            mapped = round((stamp - self._offset_s) * NS_PER_S)
            # Plausible: not in the future, not older than the wait we were in.
            if now - 1_000_000_000 < mapped <= now + 100_000:
                t = min(mapped, now)
                self.interface_stamps += 1
            else:
                self.bench_stamps += 1
        else:
            self.bench_stamps += 1
        msg.timestamp = t / NS_PER_S
        if self._observers:
            sender = self._senders.get(msg.arbitration_id, "?")
            data = bytes(msg.data)
            flags = (FLAG_EXTENDED if msg.is_extended_id else 0) | FLAG_RX
            for fn in self._observers:
                fn(t, t, msg.arbitration_id, data, sender, flags)
        return msg, True

    def shutdown(self) -> None:
        super().shutdown()
        self.inner.shutdown()


class WallNetwork:
    """A real bus as the bench's network (:class:`hil.bench.base.Network`): observers and
    figures; bus faults need the simulated bus and are refused with one line."""

    def __init__(self, bus: RecordingBus) -> None:
        self.bus = bus

    def add_frame_observer(self, fn: FrameObserver) -> None:
        self.bus.add_frame_observer(fn)

    def inject_fault(self, kind: str, **params: Any) -> Any:
        raise ConfigError(f"bus fault '{kind}' needs the simulated bus (rigs/sil.yaml); on a "
                          "real bus, inject faults at the plant (part / sensor faults)")

    def clear_fault(self, handle: Any) -> None:
        return None

    def report(self) -> dict[str, Any]:
        b = self.bus
        return {"frames": b.frames_sent + b.frames_received, "frames_sent": b.frames_sent,
                "frames_received": b.frames_received, "echoes_dropped": b.echoes_dropped,
                "timestamps": b.timestamp_source}
