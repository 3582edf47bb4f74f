"""Wall-clock benches on real buses: the plant side of a bench rig, and ``hil ecu``.

A rig with ``clock: wall`` runs the same plant node, bench node and (for
``ecu: local``) ECU runtime as the SIL bench, but on the wall clock
(:class:`hil.clock.WallClockEnvironment`) and on a bus made by
``can.Bus(**rig.bus)`` — udp_multicast, socketcan, pcan, virtual ... With
``ecu: external`` the ECU is another process (``hil ecu``) or a real ECU.

What is recorded, and with which timestamps: every frame the bench sends is
stamped with the bench clock when it is handed to the interface; every frame
it receives is stamped with the *interface's* receive timestamp
(``msg.timestamp``: the kernel's SO_TIMESTAMPNS on udp_multicast and socketcan,
the adapter's on PCAN), mapped onto the bench clock. Where an interface gives no
plausible timestamp the bench clock at reception is used instead, and
:attr:`RecordingBus.timestamp_source` says which it was, so reports can name the
timestamp source of every timing verdict.

Overrun policy is the wall clock's: catch up (late events run at once, in
order; the schedule does not shift), see :mod:`hil.clock`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import can
import numpy as np

from hil.bench import LoopBase
from hil.clock import NS_PER_S, WallClockEnvironment, realtime_measures
from hil.codec import Codec
from hil.dbc import load_dbc
from hil.ecu import EcuRuntime, load_calibration, load_ecu_config
from hil.errors import ConfigError, InterfaceUnavailable
from hil.nodes import BenchNode, PlantNode
from hil.rig import RigConfig, check_signal_map, load_rig
from hil.trace import FLAG_EXTENDED, FLAG_RX, Trace

NODES = ("PLANT", "ECU", "BENCH")

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


def _one_line(text: str) -> str:
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

    Nodes only see ``BusABC`` (STYLE.md 1): ``send`` and ``recv`` go to the real
    bus. Observers (the trace, the scenario's online monitor) see each frame once,
    as ``fn(t_end_ns, t_start_ns, msg, sender)``. On udp_multicast the sender also
    receives its own frames (multicast loopback); those echoes are recognised and
    dropped, so a frame is never recorded twice.
    """

    def __init__(self, bus: can.BusABC, env: WallClockEnvironment, senders: Mapping[int, str],
                 *, own_echo: bool = False, stamp: str = "interface") -> None:
        self.inner = bus
        # "interface": the receive timestamp of the interface (what a logger on the wire
        # sees); "handling": the clock's time when the node handled the frame (what an ECU
        # saw: its own trace replays exactly).
        self._stamp_handling = stamp == "handling"
        self.env = env
        self._senders = dict(senders)
        self._own_echo = own_echo
        self._pending: Counter[tuple[int, bytes]] = Counter()
        self._observers: list[Callable[..., None]] = []
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

    def add_observer(self, fn: Callable[..., None]) -> None:
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
        t_handed = self.env.wall_now_ns()
        self.inner.send(msg, timeout)
        self.frames_sent += 1
        if self._own_echo:
            self._pending[(msg.arbitration_id, bytes(msg.data))] += 1
        if self._observers:
            sender = self._senders.get(msg.arbitration_id, "BENCH")
            for fn in self._observers:
                fn(t_handed, t_handed, msg, sender)

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
            for fn in self._observers:
                fn(t, t, msg, sender)
        return msg, True

    def shutdown(self) -> None:
        super().shutdown()
        self.inner.shutdown()


class _WallNetwork:
    """What the scenario runner asks of ``bench.network`` on a wall-clock rig."""

    def __init__(self, bus: RecordingBus) -> None:
        self.bus = bus

    def add_observer(self, fn: Callable[..., None], flags: bool = False) -> None:
        self.bus.add_observer(fn)

    def inject_fault(self, mode: str, **params: Any) -> Any:
        raise ConfigError(f"bus fault '{mode}' needs the simulated bus (rigs/sil.yaml); on a "
                          "real bus, inject faults at the plant (part / sensor faults)")

    def clear_fault(self, handle: Any) -> None:
        return None

    def report(self) -> dict[str, Any]:
        b = self.bus
        return {"frames": b.frames_sent + b.frames_received, "frames_sent": b.frames_sent,
                "frames_received": b.frames_received, "echoes_dropped": b.echoes_dropped,
                "timestamps": b.timestamp_source}


class ExternalEcu:
    """Stands in for the ECU runtime when the ECU is another process or a real ECU."""

    def __init__(self, bus: RecordingBus) -> None:
        self._bus = bus

    def task_times(self) -> dict[str, np.ndarray]:
        return {}

    def counters(self) -> dict[str, Any]:
        return {"external": True, "frames_received_from_bus": self._bus.frames_received}


class WallBench(LoopBase):
    """The bench side of a wall-clock rig: plant node, bench node, trace, optional local ECU.

    The same wiring as :class:`hil.bench.SilBench` (and the same attributes the
    scenario runner uses), on the wall clock and on ``can.Bus(**rig.bus)``.
    """

    def __init__(self, rig: RigConfig, *, plant: Any = None, plant_params: str | None = None,
                 overrides: Mapping[str, Any] | None = None, calibration: str | Path | None = None,
                 seed: int = 0, trace: bool = True, spool_dir: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None,
                 realtime: bool = True, cpu: int | None = None) -> None:
        if rig.clock != "wall":
            raise ConfigError(f"rig {rig.name!r} is not a wall-clock rig (clock: wall)",
                              file=str(rig.path))
        from hil.bench import build_plant

        self.rig = rig
        self.db = load_dbc(rig.dbc)
        self.codec = Codec(self.db, out_of_range=rig.out_of_range)
        self.env = WallClockEnvironment()
        self.plant = plant if plant is not None else build_plant(
            plant_params or rig.plant, overrides, seed)
        check_signal_map(rig, self.db, tuple(self.plant.output_names),
                         tuple(self.plant.input_names))
        senders = {m.frame_id: (m.senders[0] if m.senders else "?") for m in self.db.messages}
        self.node_index = {name: i for i, name in enumerate(NODES)}
        self._realtime = realtime
        self._cpu = cpu
        self._stack = contextlib.ExitStack()
        self._started = False
        self._closed = False
        self.realtime_policy = "not started"
        raw = open_bus(rig)
        self.bus = RecordingBus(raw, self.env, senders,
                                own_echo=rig.bus.get("interface") == "udp_multicast")
        self.network = _WallNetwork(self.bus)
        try:
            self.trace = (Trace(self.db, nodes=NODES, quantities=tuple(self.plant.output_names),
                                spool_dir=spool_dir) if trace else None)
            if self.trace is not None:
                self.bus.add_observer(self._observe)
            self.plant_node = PlantNode(self.env, self.bus, self.plant, self.db, self.codec,
                                        publish=rig.publish, apply=rig.apply,
                                        step_ns=rig.step_ns, trace=self.trace)
            self.bench = BenchNode(self.env, self.bus, self.db, self.codec)
            self._ecu_bus: can.BusABC | None = None
            if rig.ecu == "local":
                # A second handle on the same bus: the ECU is another node on the wire.
                self._ecu_bus = open_bus(rig)
                config = load_ecu_config(rig.ecu_config, self.db)
                cal = load_calibration(config, calibration if calibration is not None
                                       else rig.calibration)
                self.ecu: Any = EcuRuntime(self.env, self._ecu_bus, self.db, self.codec, config,
                                           calibration=cal, options=controller_options)
            else:
                self.ecu = ExternalEcu(self.bus)
        except BaseException:
            self.bus.shutdown()
            raise

    @classmethod
    def from_rig(cls, rig: str | Path | RigConfig, **kwargs: Any) -> WallBench:
        return cls(rig if isinstance(rig, RigConfig) else load_rig(rig), **kwargs)

    def _observe(self, t_end_ns: int, t_start_ns: int, msg: can.Message, sender: str) -> None:
        flags = (FLAG_EXTENDED if msg.is_extended_id else 0) | (FLAG_RX if msg.is_rx else 0)
        self.trace.add_frame(t_end_ns, t_start_ns, msg.arbitration_id, msg.data,
                             self.node_index.get(sender, 255), flags)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if isinstance(self.ecu, EcuRuntime):
            self.ecu.start()
        elif "FaultReset" in self.bench.commands:
            # An external ECU was powered up before the bench and has latched the missing
            # sensor frames (LIMP): the operator's first act is a fault reset, as on a rig.
            self.bench.set("FaultReset", 1, momentary=True)
        self.bench.start()
        self.plant_node.start()
        if self._realtime:
            self.realtime_policy = self._stack.enter_context(
                realtime_measures(self.env, cpu=self._cpu))
        else:
            self.realtime_policy = self.env.realtime_policy = "no realtime measures (asked)"
        self.env.reset_origin()
        self.bus.sync_clock()

    def run_until(self, t_ns: int) -> None:
        """Run the loop until bench time ``t_ns`` — in wall-clock time."""
        self.start()
        if t_ns > self.env.now:
            self.env.run(until=t_ns)

    def run_for(self, seconds: float) -> None:
        self.run_until(self.env.now + round(seconds * NS_PER_S))

    def figures(self) -> dict[str, Any]:
        pacing = self.env.pacing_report()
        return {"pacing": {"events": pacing.events, "p50_us": pacing.p50_us,
                           "p99_us": pacing.p99_us, "max_us": pacing.max_us,
                           "overruns": pacing.overruns, "policy": pacing.realtime_policy},
                "timestamps": {"sent": "bench clock when handed to the interface",
                               "received": self.bus.timestamp_source}}

    def close(self) -> None:
        """Restore scheduling, flush the trace, release the buses (also after a failure)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stack.close()
            if self.trace is not None:
                self.trace.close()
        finally:
            self.bus.shutdown()
            if self._ecu_bus is not None:
                self._ecu_bus.shutdown()

    def __enter__(self) -> WallBench:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class EcuEmulator:
    """``hil ecu``: the ECU runtime alone, in wall-clock time on the rig's bus.

    The controllers and the runtime are the SIL ones, unchanged. ``stop()`` (from a
    signal handler) ends the run at the next chunk boundary (at most ``chunk_s``).
    """

    def __init__(self, rig: RigConfig, *, calibration: str | Path | None = None,
                 controller_options: Mapping[str, Any] | None = None, trace: bool = True,
                 realtime: bool = True, cpu: int | None = None) -> None:
        self.rig = rig
        self.db = load_dbc(rig.dbc)
        self.codec = Codec(self.db, out_of_range=rig.out_of_range)
        if rig.ecu_config is None:
            raise ConfigError(f"rig {rig.name}: hil ecu needs 'ecu_config' (the controllers "
                              "to run)", file=str(rig.path))
        self.config = load_ecu_config(rig.ecu_config, self.db)
        cal = load_calibration(self.config, calibration if calibration is not None
                               else rig.calibration)
        self.env = WallClockEnvironment()
        senders = {m.frame_id: (m.senders[0] if m.senders else "?") for m in self.db.messages}
        # The ECU's trace is the ECU's view: frames at the time it handled them, so that
        # `hil replay` of it reproduces what the runtime computed.
        self.bus = RecordingBus(open_bus(rig), self.env, senders,
                                own_echo=rig.bus.get("interface") == "udp_multicast",
                                stamp="handling")
        try:
            self.trace = Trace(self.db, nodes=NODES) if trace else None
            if self.trace is not None:
                index = {name: i for i, name in enumerate(NODES)}

                def observe(t_end: int, t_start: int, msg: can.Message, sender: str) -> None:
                    flags = (FLAG_EXTENDED if msg.is_extended_id else 0) | (
                        FLAG_RX if msg.is_rx else 0)
                    self.trace.add_frame(t_end, t_start, msg.arbitration_id, msg.data,
                                         index.get(sender, 255), flags)

                self.bus.add_observer(observe)
            self.ecu = EcuRuntime(self.env, self.bus, self.db, self.codec, self.config,
                                  calibration=cal, options=controller_options)
        except BaseException:
            self.bus.shutdown()
            raise
        self._realtime = realtime
        self._cpu = cpu
        self._stop = False
        self.realtime_policy = "not started"

    def stop(self, *_args: Any) -> None:
        self._stop = True

    def run(self, seconds: float | None = None, *, chunk_s: float = 0.1) -> None:
        """Run until ``seconds`` of wall time have passed or :meth:`stop` was called."""
        end = math.inf if seconds is None else round(seconds * NS_PER_S)
        chunk = round(chunk_s * NS_PER_S)
        self.ecu.start()
        with contextlib.ExitStack() as stack:
            if self._realtime:
                self.realtime_policy = stack.enter_context(
                    realtime_measures(self.env, cpu=self._cpu))
            else:
                self.realtime_policy = self.env.realtime_policy = "no realtime measures (asked)"
            self.env.reset_origin()
            self.bus.sync_clock()
            while not self._stop and self.env.now < end:
                self.env.run(until=min(self.env.now + chunk, end))

    def counters_text(self) -> str:
        c = self.ecu.counters()
        pacing = self.env.pacing_report()
        lines = [f"hil ecu: {self.env.now / NS_PER_S:.2f} s, frames sent {c['frames_sent']}, "
                 f"received {c['frames_received']} (bus: {self.bus.frames_received} in, "
                 f"{self.bus.echoes_dropped} own echoes dropped)",
                 f"  pacing: {pacing.as_text()}",
                 "  rx errors: " + (", ".join(f"{k} {v}" for k, v in c["rx_errors"].items()
                                              if v) or "none")]
        for name, times in self.ecu.task_times().items():
            runs = c["task_runs"].get(name, 0)
            wd = c["watchdog_runs"].get(name)
            if times.size:
                p50, p99 = np.percentile(times, [50, 99])
                budget = next(t.spec.exec_time_ns for t in self.ecu.tasks if t.spec.name == name)
                lines.append(f"  task {name}: {runs} runs"
                             + (f" ({wd} by watchdog)" if wd is not None else "")
                             + f", exec p50 {p50 / 1e3:.1f} us, p99 {p99 / 1e3:.1f} us, "
                             f"max {times.max() / 1e3:.1f} us (budget {budget / 1e3:g} us)")
            else:
                lines.append(f"  task {name}: no runs")
        return "\n".join(lines)

    def close(self, trace_dir: str | Path | None = None,
              formats: tuple[str, ...] = ("blf",)) -> list[Path]:
        """Flush the trace (written in ``formats`` under ``trace_dir``) and release the bus."""
        written: list[Path] = []
        try:
            if self.trace is not None:
                self.trace.close()
                if trace_dir is not None:
                    out = Path(trace_dir)
                    out.mkdir(parents=True, exist_ok=True)
                    for fmt in formats:
                        written.append(getattr(self.trace, f"to_{fmt}")(out / f"ecu.{fmt}"))
        finally:
            self.bus.shutdown()
        return written
