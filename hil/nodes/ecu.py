"""The ECU runtime: hosts the n.Tec controllers on one bus, unchanged.

It does what an ECU's basic software does around the application
(docs/architecture.md, "ECU runtime"): decodes received frames into the latest signal
values, checks their end-to-end protection and timeouts and exposes that as
``<Msg>_RxStatus`` signals, runs each controller task at its period or on
reception of its trigger message, encodes the outputs and sends them per the DBC
cycle times with alive counters and CRCs, and measures every task's execution
time. It runs on any ``can.BusABC`` under either clock; controllers never see the
clock, the bus or simpy.

The 1 ms safety path is a *reception-triggered* task: the controllers run in the
callback of the sensor frame and the reaction frame is queued ``exec_time``
later (the simulated execution time of the ECU), instead of waiting for the next
1 ms tick. A watchdog runs the same task on its period if the trigger frame stops
arriving, so a lost sensor message is still acted on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import can
import numpy as np

from hil.config.registry import resolve
from hil.config.yamlio import error_at
from hil.errors import ConfigError
from hil.nodes.adapters import attach_receiver, frame_sender, initial_value
from hil.nodes.ecu_config import ControllerSpec, EcuConfig, TaskSpec
from hil.wire.codec import Codec
from hil.wire.dbc import cycle_time_ns, e2e_data_id
from hil.wire.e2e import E2ERx, E2ETx
from hil.wire.flags import USABLE, RxStatus


class _Task:
    """A runnable task: its controllers, its timing record, what it sends."""

    __slots__ = ("spec", "controllers", "times", "last_run_ns", "last_trigger_ns", "runs",
                 "watchdog_runs", "send_entries")

    def __init__(self, spec: TaskSpec, controllers: list[Any]) -> None:
        self.spec = spec
        self.controllers = controllers
        self.times: list[int] = []
        self.last_run_ns = -1
        self.last_trigger_ns = -1
        self.runs = 0
        self.watchdog_runs = 0
        self.send_entries: list[_TxEntry] = []


class _RxEntry:
    __slots__ = ("name", "codec", "e2e", "status_name", "errors_name", "last_ns", "timeout_ns",
                 "task", "frames", "errors", "aliases")

    def __init__(self, name: str, codec: Any, e2e: E2ERx | None, timeout_ns: int) -> None:
        self.name = name
        self.codec = codec
        self.e2e = e2e
        self.status_name = f"{name}_RxStatus"
        self.errors_name = f"{name}_RxErrors"
        self.last_ns = -1
        self.timeout_ns = timeout_ns
        self.task: _Task | None = None
        self.frames = 0
        self.errors = 0
        #: (DBC name, controller name) of ecu.yaml's signal_names in this message
        self.aliases: tuple[tuple[str, str], ...] = ()


class _TxEntry:
    __slots__ = ("name", "frame_id", "is_extended", "encode", "cycle_ns", "sent", "aliases")

    def __init__(self, name: str, frame_id: int, is_extended: bool,
                 encode: Callable[[Mapping[str, float]], bytes], cycle_ns: int) -> None:
        self.name = name
        self.frame_id = frame_id
        self.is_extended = is_extended
        self.encode = encode
        self.cycle_ns = cycle_ns
        self.sent = 0
        #: (controller name, DBC name) of ecu.yaml's signal_names in this message
        self.aliases: tuple[tuple[str, str], ...] = ()


class EcuRuntime:
    """Runs the controllers of an :class:`EcuConfig` on a bus, in simulated or wall time."""

    def __init__(self, env: Any, bus: can.BusABC, db: Any, codec: Codec, config: EcuConfig, *,
                 calibration: Any = None, options: Mapping[str, Any] | None = None) -> None:
        self.env = env
        self.reset_request: str | None = None   # see session()
        self._request_id: int | None = None
        self.wake_on_bus = False
        self._awake = True
        self._t0_ns = 0          # the controllers' time origin: power-on, wake-up or reset
        self.resets = 0
        self.bus = bus
        self.db = db
        self.codec = codec
        self.config = config
        self.node = config.node
        self.calibration = calibration
        self.signals: dict[str, float] = {}
        self.frames_sent = 0
        self.frames_received = 0
        self._rx: dict[int, _RxEntry] = {}
        self._timeout_check_ns = -1  # no timeout possible up to this time (see below)
        self._tx: dict[str, _TxEntry] = {}
        self.tasks: list[_Task] = []
        extra = dict(options or {})

        for message in db.messages:
            if self.node in message.senders:
                e2e_id = e2e_data_id(message)
                mc = codec.message(message.name)
                encode = E2ETx(mc, e2e_id).protect if e2e_id is not None else mc.encode
                self._tx[message.name] = _TxEntry(message.name, message.frame_id,
                                                  message.is_extended_frame, encode,
                                                  cycle_time_ns(message) or 0)
                for sig in message.signals:
                    self.signals[sig.name] = initial_value(sig)
            else:
                e2e_id = e2e_data_id(message)
                cycle = cycle_time_ns(message) or 100_000_000
                entry = _RxEntry(message.name, codec.message(message.name),
                                 E2ERx(e2e_id) if e2e_id is not None else None,
                                 int(cycle * config.timeout_cycles))
                self._rx[message.frame_id] = entry
                for sig in message.signals:
                    self.signals[sig.name] = initial_value(sig)
                self.signals[entry.status_name] = float(RxStatus.NEVER_RECEIVED)
                self.signals[entry.errors_name] = 0.0

        # ecu.yaml's signal_names: the controllers keep their own names; a received DBC
        # signal is copied to the controller's name when decoded, a controller output to
        # the DBC's name when encoded (load_ecu_config checked that both sides exist).
        by_name = {e.name: e for e in self._rx.values()}
        for ctrl, dbc_name in config.signal_names.items():
            for message in db.messages:
                if message.name in self._tx and any(sg.name == dbc_name for sg in message.signals):
                    tx = self._tx[message.name]
                    tx.aliases = (*tx.aliases, (ctrl, dbc_name))
                rx = by_name.get(message.name)
                if rx is not None and (dbc_name in (rx.status_name, rx.errors_name)
                                       or any(sg.name == dbc_name for sg in message.signals)):
                    rx.aliases = (*rx.aliases, (dbc_name, ctrl))
                    self.signals[ctrl] = self.signals[dbc_name]
        for spec in config.tasks:
            controllers = [self._instantiate(c, spec, extra) for c in spec.controllers]
            task = _Task(spec, controllers)
            for msg in spec.sends:
                if msg not in self._tx:
                    raise error_at(spec.loc, f"task {spec.name} sends {msg!r}, which the "
                                   f"node {self.node} does not send in the DBC")
                task.send_entries.append(self._tx[msg])
            if spec.trigger is not None:
                if spec.trigger not in by_name:
                    raise error_at(spec.loc, f"task {spec.name}: trigger {spec.trigger!r} is "
                                   f"not a message the node {self.node} receives")
                by_name[spec.trigger].task = task
            self.tasks.append(task)
        task_sent = {m for t in self.tasks for m in t.spec.sends}
        self._cyclic = [e for name, e in self._tx.items() if name not in task_sent]
        self._by_frame = {e.name: e for e in self._rx.values()}
        self._extra = extra
        self._power_on_signals = dict(self.signals)
        self._reload_calibration: Callable[[], Any] | None = None

    def session(self, *, reset_request: str | None = None, wake_on_bus: bool = False,
                reload_calibration: Callable[[], Any] | None = None) -> None:
        """What a rig's ``session:`` asks of the ECU (``hil ecu``; call before start()).

        ``reset_request``: the DBC signal that re-initialises the runtime (:meth:`reset`)
        when received as 1. ``wake_on_bus``: message supervision starts at the first
        reception, as production ECUs do -- the tasks (and the controllers' clock) start
        at the first frame received, so an ECU powered up before the bench is not in
        LIMP; until then the cyclic messages carry the controllers' defaults.
        ``reload_calibration``: the power-on calibration, loaded again for each reset.
        """
        self._reload_calibration = reload_calibration
        self._request_id = None
        if reset_request is not None:
            owner = next((m for m in self.db.messages
                          if any(sg.name == reset_request for sg in m.signals)), None)
            if owner is None or owner.frame_id not in self._rx:
                raise ConfigError(f"reset request {reset_request!r} is not a signal the node "
                                  f"{self.node} receives in the DBC")
            self._request_id = owner.frame_id
        self.reset_request = reset_request
        self.wake_on_bus = wake_on_bus
        self._awake = not wake_on_bus

    # -- construction ----------------------------------------------------------------

    def _instantiate(self, spec: ControllerSpec, task: TaskSpec, extra: dict[str, Any]) -> Any:
        try:
            cls = resolve(spec.cls, kind="controllers")
        except ConfigError as exc:
            raise error_at(spec.loc, exc.message) from None
        options = {**spec.options, **extra.get(spec.name, {})}
        try:
            controller = cls(self.calibration, **options)
        except TypeError as exc:
            raise error_at(spec.loc, f"controller {spec.name}: {exc}") from None
        period = getattr(controller, "period", None)
        if period is not None and abs(period * 1e9 - task.period_ns) > 1:
            raise error_at(spec.loc, f"controller {spec.name} declares a period of "
                           f"{period * 1e3:g} ms but task {task.name} runs every "
                           f"{task.period_ns / 1e6:g} ms")
        # Outputs start at the controller's declared defaults (a safe state such as
        # FuelCut=1 before the first step), else 0.
        defaults = getattr(controller, "defaults", None) or {}
        for name in getattr(controller, "outputs", ()):
            if name in defaults:
                self.signals[name] = float(defaults[name])
            else:
                self.signals.setdefault(name, 0.0)
        return controller

    def reset(self) -> None:
        """Re-initialise as at power-on: fresh controllers (latched faults, timers, learnt
        state), every signal at its power-on value, reception supervision and E2E state
        as never received; the controllers' clock restarts. Schedules and the transmit
        alive counters run on (receivers see at most a counter jump)."""
        self.signals.clear()
        self.signals.update(self._power_on_signals)
        if self._reload_calibration is not None:
            # Learning controllers adapt their calibration in place (the tuner's fuel map):
            # a reset starts again from the calibration as it was at power-on.
            self.calibration = self._reload_calibration()
        for task in self.tasks:
            task.controllers = [self._instantiate(c, task.spec, self._extra)
                                for c in task.spec.controllers]
            task.last_trigger_ns = -1
        for entry in self._rx.values():
            entry.last_ns = -1
            if entry.e2e is not None:
                entry.e2e = E2ERx(entry.e2e.data_id, entry.e2e.max_delta_counter)
        self._timeout_check_ns = -1
        self._awake = not self.wake_on_bus
        self._t0_ns = self.env.now
        self.resets += 1

    # -- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Start reception, the periodic tasks and the cyclic messages."""
        attach_receiver(self.env, self.bus, self._on_data)
        self._send_frame = frame_sender(self.bus)
        for task in self.tasks:
            if task.spec.trigger is None:
                self.env.process(self._periodic(task))
            else:
                self.env.process(self._watchdog(task))
        for k, entry in enumerate(e for e in self._cyclic if e.cycle_ns > 0):
            # Spread the cyclic messages over the cycle so the slow ones do not pile into
            # one 10 ms window together (bus load per window stays under budget).
            offset = (250_000 + 60_000_000 + k * 13_000_000) % entry.cycle_ns
            self.env.process(self._cyclic_sender(entry.cycle_ns, [entry], offset_ns=offset))

    def _on_data(self, arbitration_id: int, data: bytes) -> None:
        entry = self._rx.get(arbitration_id)
        if entry is None:
            return
        self.frames_received += 1
        entry.frames += 1
        status = entry.e2e.check(data) if entry.e2e is not None else 0
        signals = self.signals
        if arbitration_id == self._request_id:
            if status in USABLE:
                entry.codec.decode_into(data, signals)
                if signals.get(self.reset_request, 0.0) >= 0.5:   # type: ignore[arg-type]
                    self.reset()
            return
        if not self._awake:
            self._awake = True
            self._t0_ns = self.env.now
        if status in USABLE:
            entry.codec.decode_into(data, signals)
            if entry.last_ns < 0:
                self._timeout_check_ns = -1  # a new deadline: look again at the next task
            entry.last_ns = self.env.now
        if status:
            entry.errors += 1
            signals[entry.errors_name] = float(entry.errors)
        signals[entry.status_name] = float(status)
        for dbc_name, ctrl in entry.aliases:
            signals[ctrl] = signals[dbc_name]
        task = entry.task
        if task is not None:
            task.last_trigger_ns = self.env.now
            self._run(task)

    def _check_timeouts(self, now: int) -> None:
        # Runs before every task (3.3 k times per simulated s): nothing can have timed out
        # before the earliest deadline seen last time, since deadlines only move later
        # (last_ns grows; a first reception resets the check above).
        if now <= self._timeout_check_ns:
            return
        signals = self.signals
        earliest = None
        for entry in self._rx.values():
            last = entry.last_ns
            if last >= 0:
                if now - last > entry.timeout_ns:
                    signals[entry.status_name] = float(RxStatus.TIMEOUT)
                    for dbc_name, ctrl in entry.aliases:
                        signals[ctrl] = signals[dbc_name]
                    if entry.e2e is not None:
                        entry.e2e.resync()
                deadline = last + entry.timeout_ns
                if earliest is None or deadline < earliest:
                    earliest = deadline
        self._timeout_check_ns = -1 if earliest is None else earliest

    def _run(self, task: _Task) -> None:
        if not self._awake:
            return
        now = self.env.now
        self._check_timeouts(now)
        signals = self.signals
        now_s = (now - self._t0_ns) / 1e9
        t0 = time.thread_time_ns()
        for controller in task.controllers:
            out = controller.step(signals, now_s)
            if out:
                signals.update(out)
        task.times.append(time.thread_time_ns() - t0)
        task.last_run_ns = now
        task.runs += 1
        if task.send_entries:
            frames = [self._frame(e) for e in task.send_entries]
            delay = task.spec.exec_time_ns
            if delay:
                ev = self.env.timeout(delay)
                ev.callbacks.append(lambda _ev, frames=frames: self._send_all(frames))
            else:
                self._send_all(frames)

    def _frame(self, entry: _TxEntry) -> tuple[int, bytes, bool]:
        """Encode now (the signals as the task left them); sent when the task completes."""
        entry.sent += 1
        signals = self.signals
        for ctrl, dbc_name in entry.aliases:
            signals[dbc_name] = signals[ctrl]
        return entry.frame_id, entry.encode(signals), entry.is_extended

    def _send_all(self, frames: list[tuple[int, bytes, bool]]) -> None:
        send = self._send_frame
        for frame_id, data, is_extended in frames:
            send(frame_id, data, is_extended)
            self.frames_sent += 1

    def _periodic(self, task: _Task):
        env = self.env
        if task.spec.offset_ns:
            yield env.timeout(task.spec.offset_ns)
        period = task.spec.period_ns
        start = env.now
        n = 0
        while True:
            self._run(task)
            n += 1
            # Next release from the integer schedule, not from "now + period".
            yield env.timeout(start + n * period - env.now)

    def _watchdog(self, task: _Task):
        env = self.env
        period = task.spec.period_ns
        # A trigger frame later than 1.5 periods counts as missing.
        late = period + period // 2
        while True:
            yield env.timeout(period)
            if task.last_trigger_ns < 0 or env.now - task.last_trigger_ns >= late:
                task.watchdog_runs += 1
                self._run(task)

    def _cyclic_sender(self, cycle_ns: int, entries: list[_TxEntry], offset_ns: int):
        env = self.env
        offset_ns %= cycle_ns
        if offset_ns:
            yield env.timeout(offset_ns)
        start = env.now
        n = 0
        while True:
            self._send_all([self._frame(e) for e in entries])
            n += 1
            yield env.timeout(start + n * cycle_ns - env.now)

    # -- results --------------------------------------------------------------------------

    def task_times(self) -> dict[str, np.ndarray]:
        """Execution time of every run of every task, in ns.

        Measured as this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time, so
        a busy machine that preempts the bench does not inflate a task's budget figure.
        """
        return {t.spec.name: np.asarray(t.times, dtype=np.int64) for t in self.tasks}

    def counters(self) -> dict[str, Any]:
        return {
            "frames_sent": self.frames_sent,
            "frames_received": self.frames_received,
            "rx_errors": {e.name: e.errors for e in self._rx.values()},
            "task_runs": {t.spec.name: t.runs for t in self.tasks},
            "resets": self.resets,
            "watchdog_runs": {t.spec.name: t.watchdog_runs for t in self.tasks
                              if t.spec.trigger},
        }
