"""The simulated CAN bus: one shared wire in simulated time, one python-can bus per node.

In SIL the plant node, the ECU runtime and the bench all talk to a
``can.BusABC``; here that bus is a :class:`SimBus` attached to a
:class:`SimCanNetwork`, which owns the wire. The network does what a real bus
does and a virtual one does not, because the 1 ms safety path is judged on it:

* each frame occupies the wire for its exact length (stuffing included,
  :mod:`hil.bus.timing`), so a frame sent onto a busy bus waits;
* when the bus goes idle, the heads of all nodes' transmit FIFOs arbitrate and
  the lowest identifier wins (standard beats extended with the same base id,
  data beats remote);
* every other node receives the frame at its end: ``msg.timestamp`` is the end
  time in seconds, rx callbacks run synchronously then, so nodes react in
  simulated time;
* errors are confined as ISO 11898-1 says (TEC/REC, error passive, bus-off,
  recovery after 128 x 11 recessive bits), and scenario faults hook in at the
  point of a frame's life where they act.

Time is the simpy environment's integer nanoseconds. Per frame the network
costs one timeout (end of frame) and one low-priority wake-up (arbitration),
never a simpy process.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import can
import numpy as np
from can import BusState, CanProtocol, Message
from can.broadcastmanager import ModifiableCyclicTaskABC, RestartableCyclicTaskABC
from simpy.events import Event, EventPriority

from hil.bus.faults import Fault
from hil.bus.timing import fd_frame_bits, frame_bits, frame_duration_ns
from hil.errors import BusError, ConfigError
from hil.wire.flags import FLAG_ERROR, FLAG_EXTENDED, FLAG_FAULTED, FLAG_FD

if TYPE_CHECKING:  # the clocks' type only: integer-nanosecond simpy environments
    from hil.bench.clock import NsEnvironment

__all__ = [
    "ERROR_FRAME_BITS",
    "FLAG_ERROR",
    "FLAG_EXTENDED",
    "FLAG_FAULTED",
    "FLAG_FD",
    "SimBus",
    "SimCanNetwork",
    "SimCyclicSendTask",
]


#: Bits an error frame adds after the destroyed attempt: 6-bit error flag
#: (the other nodes' echo flags are taken as superposed on it), 8-bit error
#: delimiter, 3-bit intermission.
ERROR_FRAME_BITS = 6 + 8 + 3
#: Bits of a frame cut off by an error signalled after the ACK delimiter
#: (CRC error): EOF 7 and IFS 3 are replaced by the error frame.
_CUT_TAIL_BITS = 7 + 3
#: Recessive bits per recovery occurrence, occurrences to leave bus-off.
_RECOVERY_RUN_BITS = 11
_RECOVERY_OCCURRENCES = 128
_ERROR_PASSIVE = 128
_BUS_OFF_ABOVE = 255
# Runs after every NORMAL event of the same instant, so that all sends made at
# one instant take part in the same arbitration.
_ARBITRATION_PRIORITY = 2
#: Distinct classic frames whose timing is remembered (a dict of ~1 MB at most).
_TIMING_CACHE_SIZE = 8192

Observer = Callable[..., None]


class _Wakeup(Event):
    """An already-succeeded event, scheduled with a chosen priority.

    simpy's public events are NORMAL priority; arbitration must run after all
    of them at the same instant, which only ``env.schedule`` with a lower
    priority gives. This mirrors how simpy's own ``Timeout`` initialises.
    """

    def __init__(self, env: NsEnvironment, callback: Callable[[Event], None],
                 priority: int, delay: int = 0) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, EventPriority(priority), delay)


class _Tx:
    """A frame in a transmit FIFO: a snapshot of the message at send time.

    Drivers copy a frame into a mailbox when it is sent, so a caller that
    reuses its Message object afterwards does not change what goes out.
    """

    __slots__ = ("arbitration_id", "is_extended", "is_remote", "dlc", "data", "is_fd",
                 "brs", "esi", "key", "bits", "duration_ns", "bus", "flags")

    def __init__(self, bus: SimBus, msg: Message, network: SimCanNetwork) -> None:
        can_id = msg.arbitration_id
        ext = bool(msg.is_extended_id)
        remote = bool(msg.is_remote_frame)
        data = b"" if remote else bytes(msg.data or b"")
        self.arbitration_id = can_id
        self.is_extended = ext
        self.is_remote = remote
        self.dlc = msg.dlc if remote else len(data)
        self.data = data
        self.is_fd = bool(msg.is_fd)
        self.brs = bool(msg.bitrate_switch)
        self.esi = bool(msg.error_state_indicator)
        self.bus = bus
        self.flags = FLAG_EXTENDED if ext else 0
        # Arbitration field as one comparable 32-bit number, most significant
        # bit first: base id, RTR (standard) or SRR (extended, recessive), IDE,
        # 18-bit id extension, RTR (extended). Lower wins, bit for bit as on the wire.
        if ext:
            self.key = ((can_id >> 18) << 21) | (0b11 << 19) | ((can_id & 0x3FFFF) << 1) | remote
        else:
            self.key = (can_id << 21) | (remote << 20)
        if self.is_fd:
            if not network.fd:
                raise BusError(f"{bus.channel}: CAN FD frame on a classic CAN network "
                               f"(give the network a data_bitrate)")
            self.flags |= FLAG_FD
            nominal, data_phase = fd_frame_bits(can_id, len(data), ext, self.brs)
            self.bits = nominal + data_phase
            rate = network.data_bitrate if self.brs else network.bitrate
            self.duration_ns = frame_duration_ns(nominal, network.bitrate, data_phase, rate)
        else:
            self.bits, self.duration_ns = network._classic_timing(self.key, can_id, data, ext,
                                                                  remote, self.dlc)

    @classmethod
    def classic(cls, bus: SimBus, can_id: int, data: bytes, ext: bool,
                network: SimCanNetwork) -> _Tx:
        """A classic data frame from raw fields (:meth:`SimBus.send_frame`): what
        ``_Tx(bus, Message(...), network)`` gives, without building the Message."""
        tx = object.__new__(cls)
        tx.arbitration_id = can_id
        tx.is_extended = ext
        tx.is_remote = False
        tx.dlc = len(data)
        tx.data = data
        tx.is_fd = tx.brs = tx.esi = False
        tx.bus = bus
        if ext:
            tx.flags = FLAG_EXTENDED
            tx.key = ((can_id >> 18) << 21) | (0b11 << 19) | ((can_id & 0x3FFFF) << 1)
        else:
            tx.flags = 0
            tx.key = can_id << 21
        tx.bits, tx.duration_ns = network._classic_timing(tx.key, can_id, data, ext, False,
                                                          tx.dlc)
        return tx

    def message(self, timestamp: float, channel: str, is_rx: bool, data: bytes,
                is_error_frame: bool = False) -> Message:
        return Message(
            timestamp=timestamp, arbitration_id=self.arbitration_id,
            is_extended_id=self.is_extended, is_remote_frame=self.is_remote,
            is_error_frame=is_error_frame, channel=channel, dlc=self.dlc, data=data,
            is_fd=self.is_fd, is_rx=is_rx, bitrate_switch=self.brs,
            error_state_indicator=self.esi, check=False)

    def clone(self, flags: int) -> _Tx:
        copy = object.__new__(_Tx)
        for name in _Tx.__slots__:
            setattr(copy, name, getattr(self, name))
        copy.flags |= flags
        return copy


class SimCanNetwork:
    """One simulated CAN wire shared by the nodes connected to it.

    ``env`` is a simpy Environment counting integer nanoseconds. ``bitrate`` is
    the nominal (classic/arbitration) rate; giving ``data_bitrate`` makes it a
    CAN FD network. ``bus_off_recovery`` says whether a node driven bus-off by
    its error counter recovers by itself after 128 x 11 recessive bits (the
    ISO 11898-1 condition) or stays off until a fault handle is cleared.
    """

    def __init__(self, env: NsEnvironment, bitrate: int = 500_000,
                 data_bitrate: int | None = None, *, bus_off_recovery: bool = True) -> None:
        if not isinstance(bitrate, int) or bitrate <= 0:
            raise ConfigError(f"bitrate must be a positive integer, got {bitrate!r}")
        if data_bitrate is not None and (not isinstance(data_bitrate, int) or data_bitrate <= 0):
            raise ConfigError(f"data_bitrate must be a positive integer, got {data_bitrate!r}")
        self.env = env
        self.bitrate = bitrate
        self.data_bitrate = data_bitrate
        self.fd = data_bitrate is not None
        self.bus_off_recovery = bus_off_recovery
        self._recovery_run_ns = frame_duration_ns(_RECOVERY_RUN_BITS, bitrate)
        self._buses: list[SimBus] = []
        self._by_name: dict[str, SimBus] = {}
        self._observers: list[tuple[Observer, bool]] = []
        self._frame_observers: list[Callable[..., None]] = []
        # (arbitration key, dlc, data) -> (bits, duration_ns) of classic frames: frames
        # repeat (cyclic messages whose values and counter come round again), and the
        # exact CRC + stuffing count is the costliest part of a frame's life here.
        self._timing_cache: dict[tuple[int, int, bytes], tuple[int, int]] = {}
        self._busy = False
        self._arbitration_pending = False
        self._current: _Tx | None = None
        self._current_start = 0
        self._idle_since = int(env.now)
        self._idle_generation = 0
        self._dispatching = False
        self._faults: dict[str, list[Fault]] = {}
        # Statistics: busy intervals for the load windows, totals per id.
        self._starts = array("q")
        self._ends = array("q")
        self._t0 = int(env.now)
        self.frames_total = 0
        self.bits_total = 0
        self.error_frames_total = 0
        self._per_id: dict[tuple[int, bool], list[int]] = {}

    # -- nodes ---------------------------------------------------------------

    def connect(self, node_name: str, **kwargs: Any) -> SimBus:
        """Attach a node and return its python-can bus."""
        return SimBus(channel=node_name, network=self, **kwargs)

    def _attach(self, bus: SimBus) -> None:
        name = bus.channel
        if name in self._by_name:
            raise BusError(f"node {name!r} is already connected to this network")
        self._buses.append(bus)
        self._by_name[name] = bus

    def _detach(self, bus: SimBus) -> None:
        if self._by_name.get(bus.channel) is bus:
            del self._by_name[bus.channel]
            self._buses.remove(bus)

    def node(self, name: str) -> SimBus:
        """The bus of a connected node, by name."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ConfigError(f"no node {name!r} on the bus; connected: "
                              f"{', '.join(self._by_name) or 'none'}") from None

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def add_observer(self, fn: Observer, *, flags: bool = False) -> None:
        """Call ``fn(t_end_ns, t_start_ns, msg, sender_name)`` once per frame on the wire.

        Error frames are reported too (``msg.is_error_frame``, with the id and
        data of the destroyed frame). With ``flags=True`` the call gets a fifth
        argument, the trace flags (FLAG_ERROR | FLAG_EXTENDED | FLAG_FD |
        FLAG_FAULTED), because "altered by a fault" is not visible on a Message.
        """
        self._observers.append((fn, flags))

    def add_frame_observer(self, fn: Callable[..., None]) -> None:
        """Call ``fn(t_end_ns, t_start_ns, arbitration_id, data, sender_name, flags)`` once
        per frame on the wire, like :meth:`add_observer` with ``flags=True`` but without
        building a ``can.Message`` (``data`` is the frame's ``bytes``; an error frame has
        FLAG_ERROR in ``flags``). For recorders on the hot path, such as the trace."""
        self._frame_observers.append(fn)

    def remove_observer(self, fn: Observer) -> None:
        self._observers = [(f, fl) for f, fl in self._observers if f is not fn]
        self._frame_observers = [f for f in self._frame_observers if f is not fn]

    def _classic_timing(self, key: int, can_id: int, data: bytes, ext: bool, remote: bool,
                        dlc: int) -> tuple[int, int]:
        """(bits, duration_ns) of a classic frame, computed once per distinct frame."""
        cache_key = (key, dlc, data)
        timing = self._timing_cache.get(cache_key)
        if timing is None:
            bits = frame_bits(can_id, data, ext, remote, dlc)
            timing = (bits, frame_duration_ns(bits, self.bitrate))
            if len(self._timing_cache) >= _TIMING_CACHE_SIZE:
                self._timing_cache.clear()
            self._timing_cache[cache_key] = timing
        return timing

    # -- transmit path -------------------------------------------------------

    def _submit(self, bus: SimBus, msg: Message) -> None:
        self._submit_tx(bus, _Tx(bus, msg, self))

    def _submit_tx(self, bus: SimBus, tx: _Tx) -> None:
        if bus._bus_off:
            bus.tx_dropped += 1
            return
        faults = self._faults
        if faults:
            for fault in faults.get("stop", ()):
                if fault.matches(tx.arbitration_id, bus.channel):
                    fault.consume()
                    return
            for fault in faults.get("delay", ()):
                if fault.matches(tx.arbitration_id, bus.channel):
                    fault.consume()
                    tx.flags |= FLAG_FAULTED
                    _Wakeup(self.env, partial(self._enqueue_delayed_event, tx),
                            1, fault.params["delay_ns"])
                    return
        if len(bus._txq) >= bus.tx_queue_size:
            raise BusError(f"{bus.channel}: transmit queue full ({bus.tx_queue_size} frames)")
        bus._txq.append(tx)
        if not self._busy and not self._arbitration_pending:
            self._arbitration_pending = True
            _Wakeup(self.env, self._arbitrate, _ARBITRATION_PRIORITY)

    def _enqueue_delayed_event(self, tx: _Tx, _event: Event) -> None:
        self._enqueue_delayed(tx)

    def _enqueue_delayed(self, tx: _Tx) -> None:
        bus = tx.bus
        if bus._is_shutdown or bus._bus_off or len(bus._txq) >= bus.tx_queue_size:
            bus.tx_dropped += 1
            return
        bus._txq.append(tx)
        self._wake()

    def _wake(self) -> None:
        if not self._busy and not self._arbitration_pending:
            self._arbitration_pending = True
            _Wakeup(self.env, self._arbitrate, _ARBITRATION_PRIORITY)

    def _arbitrate(self, _event: Event | None = None) -> None:
        self._arbitration_pending = False
        if self._busy:
            return
        best: _Tx | None = None
        for bus in self._buses:
            queue = bus._txq
            if queue:
                head = queue[0]
                if best is None or head.key < best.key:
                    best = head
        if best is None:
            return
        best.bus._txq.popleft()
        now = self.env.now
        self._account_idle(now)
        self._busy = True
        self._current = best
        self._current_start = now
        faults = self._faults.get("error_frames") if self._faults else None
        if faults:
            for fault in faults:
                if fault.matches(best.arbitration_id, best.bus.channel):
                    fault.consume()
                    duration = (best.duration_ns
                                - frame_duration_ns(_CUT_TAIL_BITS, self.bitrate)
                                + frame_duration_ns(ERROR_FRAME_BITS, self.bitrate))
                    self.env.timeout(duration, best).callbacks.append(self._end_of_error_frame)
                    return
        self.env.timeout(best.duration_ns, best).callbacks.append(self._end_of_frame)

    def _release_bus(self, now: int) -> int:
        """The frame on the wire is over (sent or destroyed): record its busy interval."""
        start = self._current_start
        self._busy = False
        self._current = None
        self._starts.append(start)
        self._ends.append(now)
        return start

    def _end_of_frame(self, event: Event) -> None:
        tx: _Tx = event._value
        sender = tx.bus
        now = self.env.now
        start = self._release_bus(now)
        self.frames_total += 1
        self.bits_total += tx.bits
        stats = self._per_id.get((tx.arbitration_id, tx.is_extended))
        if stats is None:
            self._per_id[(tx.arbitration_id, tx.is_extended)] = [1, tx.bits]
        else:
            stats[0] += 1
            stats[1] += tx.bits
        sender.frames_tx += 1
        sender.bits_tx += tx.bits
        if sender.tec:
            sender.tec -= 1
        data = tx.data
        flags = tx.flags
        drop_for: set[str] | None = None
        duplicate = False
        if self._faults:
            data, flags, drop_for, duplicate = self._delivery_faults(tx, data, flags)
        timestamp = now / 1e9
        for fn in self._frame_observers:
            fn(now, start, tx.arbitration_id, data, sender.channel, flags)
        if self._observers:
            wire = tx.message(timestamp, sender.channel, False, data)
            for fn, with_flags in self._observers:
                if with_flags:
                    fn(now, start, wire, sender.channel, flags)
                else:
                    fn(now, start, wire, sender.channel)
        self._dispatching = True
        try:
            for rx in self._buses:
                if rx is sender:
                    if rx.receive_own_messages:
                        rx._deliver(tx.message(timestamp, rx.channel, False, data))
                    continue
                if drop_for is not None and (not drop_for or rx.channel in drop_for):
                    continue
                if rx.rec:
                    rx.rec -= 1
                if not rx.rx_queue_size and not rx._rx_callbacks and rx._filters is None:
                    # No queue, no Message callback, no filter: nobody can see a Message,
                    # so none is built; frame callbacks get the raw fields.
                    if not rx._is_shutdown:
                        rx.frames_rx += 1
                        for callback in rx._frame_callbacks:
                            callback(tx.arbitration_id, data)
                    continue
                rx._deliver(tx.message(timestamp, rx.channel, True, data))
        finally:
            self._dispatching = False
        if duplicate and not sender._is_shutdown and not sender._bus_off:
            sender._txq.appendleft(tx.clone(FLAG_FAULTED))
        self._after_frame(start, now)

    def _delivery_faults(self, tx: _Tx, data: bytes, flags: int
                         ) -> tuple[bytes, int, set[str] | None, bool]:
        """Apply corrupt, drop and duplicate faults to a frame that made it through."""
        faults = self._faults
        name = tx.bus.channel
        can_id = tx.arbitration_id
        for fault in faults.get("corrupt", ()):
            if fault.matches(can_id, name):
                fault.consume()
                data = fault.corrupt(data)
                flags |= FLAG_FAULTED
        drop_for: set[str] | None = None
        for fault in faults.get("drop", ()):
            if fault.matches(can_id, name):
                fault.consume()
                flags |= FLAG_FAULTED
                receiver = fault.params["receiver"]
                if receiver is None:
                    drop_for = set()  # empty set: every receiver
                elif drop_for is None or drop_for:
                    drop_for = (drop_for or set()) | {receiver}
        duplicate = False
        for fault in faults.get("duplicate", ()):
            if fault.matches(can_id, name):
                fault.consume()
                duplicate = True
        return data, flags, drop_for, duplicate

    def _end_of_error_frame(self, event: Event) -> None:
        tx: _Tx = event._value
        sender = tx.bus
        now = self.env.now
        start = self._release_bus(now)
        self.error_frames_total += 1
        sender.error_frames_tx += 1
        for fn in self._frame_observers:
            fn(now, start, tx.arbitration_id, tx.data, sender.channel,
               tx.flags | FLAG_ERROR | FLAG_FAULTED)
        if self._observers:
            wire = tx.message(now / 1e9, sender.channel, False, tx.data, is_error_frame=True)
            for fn, with_flags in self._observers:
                if with_flags:
                    fn(now, start, wire, sender.channel, tx.flags | FLAG_ERROR | FLAG_FAULTED)
                else:
                    fn(now, start, wire, sender.channel)
        for rx in self._buses:
            if rx is not sender and not rx._bus_off and rx.rec < _ERROR_PASSIVE + 127:
                rx.rec += 1
        sender.tec += 8
        if sender.tec > _BUS_OFF_ABOVE:
            self._enter_bus_off(sender, self.bus_off_recovery)
        elif not sender._is_shutdown:
            sender._txq.appendleft(tx)  # automatic retransmission
        self._after_frame(start, now)

    def _after_frame(self, start: int, now: int) -> None:
        """Recovery bookkeeping, then the next arbitration or the idle bus."""
        self._idle_since = now
        for bus in self._buses:
            if bus._bus_off and bus._auto_recover and bus._bus_off_since <= start:
                # ACK delimiter + EOF + IFS (or error delimiter + IFS): 11 recessive bits.
                bus._recovery_progress += 1
                if bus._recovery_progress >= _RECOVERY_OCCURRENCES:
                    self._recover(bus)
        for bus in self._buses:
            if bus._txq:
                self._wake()
                return
        self._go_idle(now)

    # -- error confinement ---------------------------------------------------

    def _go_idle(self, now: int) -> None:
        self._idle_since = now
        self._idle_generation += 1
        for bus in self._buses:
            if bus._bus_off and bus._auto_recover:
                self._schedule_recovery_check(bus)

    def _schedule_recovery_check(self, bus: SimBus) -> None:
        begin = max(self._idle_since, bus._bus_off_since)
        left = _RECOVERY_OCCURRENCES - bus._recovery_progress
        generation = self._idle_generation
        at = begin + left * self._recovery_run_ns
        delay = max(0, at - self.env.now)

        def check(_event: Event) -> None:
            if (generation == self._idle_generation and not self._busy
                    and bus._bus_off and bus._auto_recover):
                self._recover(bus)

        _Wakeup(self.env, check, 1, delay)

    def _account_idle(self, now: int) -> None:
        """A frame starts: the idle stretch before it counts toward recovery."""
        self._idle_generation += 1
        for bus in self._buses:
            if bus._bus_off and bus._auto_recover:
                begin = max(self._idle_since, bus._bus_off_since)
                if now > begin:
                    bus._recovery_progress += (now - begin) // self._recovery_run_ns

    def _enter_bus_off(self, bus: SimBus, auto_recover: bool) -> None:
        bus._bus_off = True
        bus._auto_recover = auto_recover
        bus._bus_off_since = self.env.now
        bus._recovery_progress = 0
        bus.tec = max(bus.tec, _BUS_OFF_ABOVE + 1)
        bus.bus_off_count += 1
        bus.tx_dropped += len(bus._txq)
        bus._txq.clear()
        if auto_recover and not self._busy:
            self._schedule_recovery_check(bus)

    def _recover(self, bus: SimBus) -> None:
        bus._bus_off = False
        bus._auto_recover = False
        bus.tec = 0
        bus.rec = 0
        bus.recovered_at_ns.append(int(self.env.now))

    # -- faults --------------------------------------------------------------

    def inject_fault(self, kind: str, **params: Any) -> Fault:
        """Start a fault; returns the handle to clear it with.

        All but ``bus_off`` take ``message_id`` (None: any frame; required for
        the per-message kinds), ``sender`` (node name, None: any) and
        ``count`` (frames to hit, None: until cleared).

        * ``drop``: the frame is transmitted (occupies the wire, observers see
          it flagged FLAG_FAULTED) but ``receiver`` (or every receiver) does not
          get it, as when a receiver's filter or mailbox loses it.
        * ``stop``: the frame is never transmitted; the sender is not told.
        * ``delay``: ``delay_ns`` is added before the frame enters the sender's
          transmit queue (later frames may overtake it).
        * ``corrupt``: data altered in flight, with ``xor`` (bytes or int over
          the payload) or one ``byte``/``bit`` flipped (default byte 0 bit 0,
          which breaks the E2E CRC); receivers and observers see the altered
          data, observers with FLAG_FAULTED. Frame length stays the sender's.
        * ``duplicate``: after the frame succeeds the sender transmits it once
          more (as after a lost ACK); the copy is flagged FLAG_FAULTED.
        * ``error_frames`` (``count`` default 1): the attempt is destroyed by an
          error frame signalled after the ACK delimiter; the attempt occupies
          the frame's bits minus EOF/IFS, plus ERROR_FRAME_BITS (17). TEC +8 on
          the sender, REC +1 on the others, automatic retransmission.
        * ``bus_off`` (``node``, ``recover=True``): the node goes bus-off now,
          its transmit queue is flushed and its sends are dropped; with
          ``recover`` it comes back after 128 x 11 recessive bits, else when
          the fault is cleared (clearing always recovers it).
        """
        fault = Fault.build(kind, **params)
        if kind == "bus_off":
            bus = self.node(fault.sender or "")
            fault.consume()
            self._enter_bus_off(bus, bool(fault.params["recover"]))
            bus._bus_off_fault = fault
        self._faults.setdefault(kind, []).append(fault)
        return fault

    def clear_fault(self, fault: Fault) -> None:
        """Stop a fault; a cleared bus-off fault recovers its node at once."""
        fault.active = False
        kind_list = self._faults.get(fault.kind)
        if kind_list and fault in kind_list:
            kind_list.remove(fault)
            if not kind_list:
                del self._faults[fault.kind]
        if fault.kind == "bus_off":
            bus = self._by_name.get(fault.sender or "")
            if bus is not None and bus._bus_off and bus._bus_off_fault is fault:
                self._recover(bus)
                self._wake_if_pending()

    def _wake_if_pending(self) -> None:
        if any(bus._txq for bus in self._buses):
            self._wake()

    @property
    def faults(self) -> tuple[Fault, ...]:
        return tuple(f for kind in self._faults.values() for f in kind if f.active)

    # -- statistics ----------------------------------------------------------

    def busy_ns(self, until_ns: int | None = None) -> int:
        """Nanoseconds the wire was busy from the start until ``until_ns`` (now)."""
        until = int(self.env.now) if until_ns is None else until_ns
        return int(self._cumulative_busy(np.array([until], dtype=np.int64))[0])

    def _cumulative_busy(self, times: np.ndarray) -> np.ndarray:
        starts = np.frombuffer(self._starts, dtype=np.int64) if self._starts else np.zeros(0, np.int64)
        ends = np.frombuffer(self._ends, dtype=np.int64) if self._ends else np.zeros(0, np.int64)
        if self._busy:  # the frame on the wire now counts up to now
            starts = np.append(starts, self._current_start)
            ends = np.append(ends, int(self.env.now))
        # Intervals never overlap and are sorted, so busy time up to t is the
        # sum of the finished ones plus the part of the one running at t.
        lengths = np.concatenate(([0], np.cumsum(ends - starts)))
        done = np.searchsorted(ends, times, side="right")
        busy = lengths[done]
        running = done < len(starts)
        idx = np.minimum(done, max(len(starts) - 1, 0))
        if len(starts):
            partial = np.where(running, np.clip(times - starts[idx], 0, None), 0)
            busy = busy + partial
        return busy

    def bus_load(self, window_ns: int) -> np.ndarray:
        """Fraction of each complete window of ``window_ns`` the wire was busy, since start.

        Error frames count (they occupy the wire). The last, incomplete
        window is left out so a half-elapsed window cannot read as a dip.
        """
        if window_ns <= 0:
            raise ValueError("window_ns must be positive")
        count = (int(self.env.now) - self._t0) // window_ns
        edges = self._t0 + np.arange(count + 1, dtype=np.int64) * window_ns
        busy = self._cumulative_busy(edges)
        return np.diff(busy) / window_ns

    def report(self, window_ns: int = 10_000_000) -> dict[str, Any]:
        """Bus figures for a report: load mean/max per window, totals per node and id."""
        load = self.bus_load(window_ns)
        elapsed = int(self.env.now) - self._t0
        return {
            "bitrate": self.bitrate,
            "data_bitrate": self.data_bitrate,
            "elapsed_ns": elapsed,
            "window_ns": window_ns,
            "load_mean": float(load.mean()) if load.size else math.nan,
            "load_max": float(load.max()) if load.size else math.nan,
            "load_overall": self.busy_ns() / elapsed if elapsed else math.nan,
            "frames": self.frames_total,
            "bits": self.bits_total,
            "error_frames": self.error_frames_total,
            "per_node": {bus.channel: bus.statistics() for bus in self._buses},
            "per_id": {
                (f"{can_id:08X}x" if ext else f"{can_id:03X}"): {"frames": f, "bits": b}
                for (can_id, ext), (f, b) in sorted(self._per_id.items())
            },
        }


class SimCyclicSendTask(ModifiableCyclicTaskABC, RestartableCyclicTaskABC):
    """python-can ``send_periodic`` in simulated time.

    python-can's default task is a thread on the wall clock, which means
    nothing in a simulation; this one sends from simpy wake-ups at exact
    integer-ns multiples of the period (time from a count, never accumulated),
    and calls ``modifier_callback`` before each send like python-can does.
    """

    def __init__(self, bus: SimBus, messages: Sequence[Message] | Message, period: float,
                 duration: float | None = None, autostart: bool = True,
                 modifier_callback: Callable[[Message], None] | None = None) -> None:
        super().__init__(messages, period)
        self._bus = bus
        self._period_ns = round(period * 1e9)
        if self._period_ns <= 0:
            raise ValueError("period must be positive")
        self._end_ns: int | None = None
        self._duration_ns = None if duration is None else round(duration * 1e9)
        self._modifier = modifier_callback
        self._running = False
        self._generation = 0
        self._index = 0
        self._count = 0
        self._start_ns = 0
        if autostart:
            self.start()

    def start(self) -> None:
        if self._running:
            return
        env = self._bus.network.env
        self._running = True
        self._generation += 1
        self._count = 0
        self._start_ns = int(env.now)
        self._end_ns = None if self._duration_ns is None else self._start_ns + self._duration_ns
        generation = self._generation
        _Wakeup(env, lambda _e: self._fire(generation), 1, 0)

    def stop(self) -> None:
        self._running = False
        self._generation += 1

    def _fire(self, generation: int) -> None:
        if generation != self._generation or not self._running or self._bus._is_shutdown:
            return
        env = self._bus.network.env
        if self._end_ns is not None and env.now > self._end_ns:
            self._running = False
            return
        msg = self.messages[self._index]
        if self._modifier is not None:
            self._modifier(msg)
        self._bus.send(msg)
        self._index = (self._index + 1) % len(self.messages)
        self._count += 1
        at = self._start_ns + self._count * self._period_ns
        _Wakeup(env, lambda _e: self._fire(generation), 1, at - int(env.now))


# python-can passes its generic configuration keys to every backend; these
# are the ones a simulated bus can meaningfully check or must ignore.
_GENERIC_KWARGS = frozenset({"fd", "timing", "auto_reset", "state", "single_handle",
                             "preserve_timestamps", "app_name", "serial", "poll_interval"})


class SimBus(can.BusABC):
    """A node's python-can bus on a :class:`SimCanNetwork`.

    ``SimBus(channel=node_name, network=network)`` is what ``can.Bus(interface=
    "sim", channel=..., network=...)`` builds once the ``sim`` entry point is
    registered. Timeouts of ``recv`` are simulated seconds: outside the event
    loop (a test, a script) ``recv`` advances the simulation until a frame
    arrives or the timeout elapses; inside it (a simpy process or one of this
    network's callbacks) it only returns what is queued, because simulated
    time cannot pass while the caller holds it.

    ``rx_queue_size`` bounds the receive queue (oldest dropped on overflow,
    counted in ``rx_overflows``); 0 means no queue, for nodes that only use
    ``add_rx_callback``. Filters set with ``set_filters`` apply to callbacks
    and queue alike.
    """

    def __init__(self, channel: str, can_filters: can.typechecking.CanFilters | None = None,
                 *, network: SimCanNetwork | None = None, receive_own_messages: bool = False,
                 rx_queue_size: int = 4096, tx_queue_size: int = 1024,
                 bitrate: int | None = None, data_bitrate: int | None = None,
                 **kwargs: Any) -> None:
        if network is None:
            raise ConfigError("the 'sim' CAN interface needs network=SimCanNetwork(...); "
                              "rigs pass it, it cannot come from a config file")
        if not isinstance(channel, str) or not channel:
            raise ConfigError(f"sim bus channel must be a node name, got {channel!r}")
        unknown = set(kwargs) - _GENERIC_KWARGS
        if unknown:
            raise ConfigError(f"unknown option(s) for the sim CAN interface: "
                              f"{', '.join(sorted(unknown))}")
        if bitrate is not None and bitrate != network.bitrate:
            raise ConfigError(f"{channel}: bitrate {bitrate} differs from the network's "
                              f"{network.bitrate}")
        if data_bitrate is not None and data_bitrate != network.data_bitrate:
            raise ConfigError(f"{channel}: data_bitrate {data_bitrate} differs from the "
                              f"network's {network.data_bitrate}")
        if kwargs.get("fd") and not network.fd:
            raise ConfigError(f"{channel}: fd=True on a classic CAN network")
        if rx_queue_size < 0 or tx_queue_size < 1:
            raise ConfigError("rx_queue_size must be >= 0 and tx_queue_size >= 1")
        self.channel = channel
        self.network = network
        self.receive_own_messages = receive_own_messages
        self.rx_queue_size = rx_queue_size
        self.tx_queue_size = tx_queue_size
        self.channel_info = f"sim CAN node {channel!r} at {network.bitrate} bit/s"
        self._can_protocol = CanProtocol.CAN_FD if network.fd else CanProtocol.CAN_20
        self._rxq: deque[Message] = deque()
        self._txq: deque[_Tx] = deque()
        self._rx_callbacks: list[Callable[[Message], None]] = []
        self._frame_callbacks: list[Callable[[int, bytes], None]] = []
        self.tec = 0
        self.rec = 0
        self._bus_off = False
        self._auto_recover = False
        self._bus_off_since = 0
        self._recovery_progress = 0
        self._bus_off_fault: Fault | None = None
        self.bus_off_count = 0
        self.recovered_at_ns: list[int] = []
        self.frames_tx = 0
        self.bits_tx = 0
        self.error_frames_tx = 0
        self.frames_rx = 0
        self.rx_overflows = 0
        self.tx_dropped = 0
        if channel in network._by_name:
            raise BusError(f"node {channel!r} is already connected to this network")
        super().__init__(channel=channel, can_filters=can_filters, **kwargs)
        network._attach(self)

    # -- python-can backend --------------------------------------------------

    def send(self, msg: Message, timeout: float | None = None) -> None:
        """Queue ``msg`` in this node's transmit FIFO; it goes out when it wins the bus.

        ``timeout`` is accepted for python-can compatibility; a full queue
        raises BusError at once, as a driver with full mailboxes does.
        """
        if self._is_shutdown:
            raise BusError(f"{self.channel}: bus is shut down")
        self.network._submit(self, msg)

    def send_frame(self, arbitration_id: int, data: bytes, is_extended_id: bool = False) -> None:
        """``send(Message(arbitration_id=..., data=..., is_extended_id=...))`` for a classic
        data frame, without building the Message: the bench's nodes send 2-3 frames per
        simulated ms. An optional ability (callers probe it and fall back to ``send``);
        ``data`` must be ``bytes`` of at most 8."""
        if self._is_shutdown:
            raise BusError(f"{self.channel}: bus is shut down")
        if type(data) is not bytes:
            data = bytes(data)
        network = self.network
        network._submit_tx(self, _Tx.classic(self, arbitration_id, data, is_extended_id,
                                             network))

    def _deliver(self, msg: Message) -> None:
        if self._is_shutdown:
            return
        if self._filters is not None and not self._matches_filters(msg):
            return
        self.frames_rx += 1
        if self.rx_queue_size:
            queue = self._rxq
            if len(queue) >= self.rx_queue_size:
                queue.popleft()
                self.rx_overflows += 1
            queue.append(msg)
        for rx_callback in self._rx_callbacks:
            rx_callback(msg)
        if self._frame_callbacks:
            arbitration_id, data = msg.arbitration_id, bytes(msg.data)
            for frame_callback in self._frame_callbacks:
                frame_callback(arbitration_id, data)

    def _wait_for_frame(self, deadline_ns: int | None) -> None:
        """Run the simulation until a frame is queued or ``deadline_ns`` passes."""
        network = self.network
        env = network.env
        if network._dispatching or env.active_process is not None:
            return
        queue = self._rxq
        while not queue:
            upcoming = env.peek()
            if upcoming == math.inf:
                if deadline_ns is None:
                    raise BusError(f"{self.channel}: recv() without timeout would wait "
                                   f"forever: nothing left to happen in the simulation")
                break
            if deadline_ns is not None and upcoming > deadline_ns:
                break
            env.step()
        if not queue and deadline_ns is not None and deadline_ns > env.now:
            env.run(until=deadline_ns)

    def _recv_internal(self, timeout: float | None) -> tuple[Message | None, bool]:
        if not self._rxq and timeout != 0 and self.rx_queue_size:
            deadline = None if timeout is None else int(self.network.env.now) + round(timeout * 1e9)
            self._wait_for_frame(deadline)
        if self._rxq:
            return self._rxq.popleft(), True
        return None, True

    def recv(self, timeout: float | None = None) -> Message | None:
        """python-can ``recv`` with the timeout in simulated seconds.

        The base class measures timeouts on the wall clock, which would let a
        simulation run on for as long as the CPU takes; filtering is the same
        (frames are filtered on arrival, and again here in case the filters
        changed while they were queued).
        """
        env = self.network.env
        deadline = None if timeout is None else int(env.now) + round(timeout * 1e9)
        while True:
            if not self._rxq and timeout != 0 and self.rx_queue_size:
                self._wait_for_frame(deadline)
            if not self._rxq:
                return None
            msg = self._rxq.popleft()
            if self._filters is None or self._matches_filters(msg):
                return msg

    def shutdown(self) -> None:
        if self._is_shutdown:
            return
        self.tx_dropped += len(self._txq)
        self._txq.clear()
        self.network._detach(self)
        super().shutdown()

    @property
    def state(self) -> BusState:
        """ACTIVE, PASSIVE (TEC or REC >= 128) or ERROR (bus-off)."""
        if self._bus_off:
            return BusState.ERROR
        if self.tec >= _ERROR_PASSIVE or self.rec >= _ERROR_PASSIVE:
            return BusState.PASSIVE
        return BusState.ACTIVE

    @state.setter
    def state(self, new_state: BusState) -> None:
        raise NotImplementedError("a simulated node's state follows its error counters; "
                                  "use the network's bus_off fault to force it")

    def _send_periodic_internal(self, msgs: Sequence[Message] | Message, period: float,
                                duration: float | None = None, autostart: bool = True,
                                modifier_callback: Callable[[Message], None] | None = None
                                ) -> SimCyclicSendTask:
        return SimCyclicSendTask(self, msgs, period, duration, autostart, modifier_callback)

    # -- bench extras --------------------------------------------------------

    def add_rx_callback(self, fn: Callable[[Message], None]) -> None:
        """Call ``fn(msg)`` at the end of every frame this node receives (simulated time)."""
        self._rx_callbacks.append(fn)

    def remove_rx_callback(self, fn: Callable[[Message], None]) -> None:
        self._rx_callbacks.remove(fn)

    def add_frame_callback(self, fn: Callable[[int, bytes], None]) -> None:
        """Call ``fn(arbitration_id, data)`` at the end of every frame this node receives,
        like :meth:`add_rx_callback` but without a ``can.Message`` (``data`` is ``bytes``;
        the time is the simulation's now). For the SIL nodes' reception, 2-3 frames per
        simulated ms: when a node has no receive queue, no Message callback and no filter,
        none is built. An optional ability: callers probe it and fall back to
        ``add_rx_callback``. Frame callbacks run after the node's Message callbacks."""
        self._frame_callbacks.append(fn)

    def remove_frame_callback(self, fn: Callable[[int, bytes], None]) -> None:
        self._frame_callbacks.remove(fn)

    @property
    def is_bus_off(self) -> bool:
        return self._bus_off

    @property
    def tx_pending(self) -> int:
        """Frames waiting in this node's transmit FIFO."""
        return len(self._txq)

    def statistics(self) -> dict[str, Any]:
        return {
            "frames_tx": self.frames_tx, "bits_tx": self.bits_tx,
            "error_frames_tx": self.error_frames_tx, "frames_rx": self.frames_rx,
            "rx_overflows": self.rx_overflows, "tx_dropped": self.tx_dropped,
            "tec": self.tec, "rec": self.rec, "state": self.state.name,
            "bus_off_count": self.bus_off_count,
        }
