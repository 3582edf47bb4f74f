"""Behaviour only the simulated bus has: wire timing, arbitration, load, faults, errors.

Every time below is simulated integer nanoseconds at 500 kbit/s (2000 ns per
bit) and is computed from frame_bits, so the expectations are exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import can
import pytest
import simpy
from can import BusState
from cantools.autosar.end_to_end import check_profile2_crc, compute_profile2_crc

from hil.bus import (
    ERROR_FRAME_BITS,
    SimBus,
    SimCanNetwork,
    fd_frame_bits,
    frame_bits,
    frame_duration_ns,
)
from hil.errors import BusError, ConfigError
from hil.wire.flags import FLAG_ERROR, FLAG_EXTENDED, FLAG_FAULTED

BIT_NS = 2000
MS = 1_000_000


class Wire:
    """A network with three nodes and a log of what the observers saw."""

    def __init__(self, **net_kwargs: object) -> None:
        self.env = simpy.Environment()
        self.net = SimCanNetwork(self.env, **net_kwargs)
        self.a, self.b, self.c = (self.net.connect(n) for n in ("A", "B", "C"))
        self.seen: list[tuple[int, int, can.Message, str, int]] = []
        self.net.add_observer(lambda te, ts, m, s, f: self.seen.append((te, ts, m, s, f)),
                              flags=True)

    def send_at(self, t_ns: int, bus: SimBus, msg: can.Message) -> None:
        def proc() -> Iterator[simpy.Event]:
            yield self.env.timeout(t_ns - self.env.now)
            bus.send(msg)
        self.env.process(proc())

    def ok_frames(self) -> list[tuple[int, int, can.Message, str, int]]:
        return [s for s in self.seen if not s[4] & FLAG_ERROR]


@pytest.fixture
def wire() -> Iterator[Wire]:
    w = Wire()
    yield w
    for bus in (w.a, w.b, w.c):
        bus.shutdown()


def std(can_id: int, data: bytes = bytes(8), **kw: object) -> can.Message:
    return can.Message(arbitration_id=can_id, is_extended_id=False, data=data, **kw)


def dur(msg: can.Message) -> int:
    return frame_bits(msg.arbitration_id, bytes(msg.data), msg.is_extended_id,
                      msg.is_remote_frame, msg.dlc) * BIT_NS


# -- timing and arbitration ----------------------------------------------------

def test_three_nodes_at_one_instant_arbitrate_by_id(wire: Wire) -> None:
    frames = {wire.a: std(0x300, b"\x11" * 8), wire.b: std(0x090, b"\x22" * 5),
              wire.c: std(0x100, b"\x33" * 8)}
    for bus, msg in frames.items():
        wire.send_at(1 * MS, bus, msg)
    got_c: list[can.Message] = []
    wire.c.add_rx_callback(lambda m: got_c.append((wire.env.now, m)))
    wire.env.run()
    order = [m.arbitration_id for _, _, m, _, _ in wire.seen]
    assert order == [0x090, 0x100, 0x300]
    expected_end = 1 * MS
    previous_end = 1 * MS
    assert [s[3] for s in wire.seen] == ["B", "C", "A"]
    for (t_end, t_start, msg, _sender, flags), sent in zip(
            wire.seen, sorted(frames.values(), key=lambda m: m.arbitration_id), strict=True):
        assert t_start == previous_end  # each start = previous end
        expected_end += dur(sent)
        assert t_end == expected_end
        assert msg.timestamp == t_end / 1e9
        assert flags == 0
        previous_end = t_end
    # C gets the frames of A and B, at their end, stamped for its channel.
    assert [(t, m.arbitration_id, m.channel, m.is_rx) for t, m in got_c] == [
        (wire.seen[0][0], 0x090, "C", True), (wire.seen[2][0], 0x300, "C", True)]


def test_frame_callbacks_get_raw_frames_at_their_end_with_or_without_a_message(
        wire: Wire) -> None:
    # The SIL nodes' reception: (id, data) at the end of the frame, no can.Message built
    # for a node with frame callbacks only; with a Message callback or a filter as well,
    # both see the same frames (filters apply to both).
    raw_b: list[tuple[int, int, bytes]] = []
    raw_c: list[tuple[int, int, bytes]] = []
    msgs_c: list[int] = []
    wire.b.rx_queue_size = 0
    wire.b.add_frame_callback(lambda i, d: raw_b.append((wire.env.now, i, d)))
    wire.c.add_frame_callback(lambda i, d: raw_c.append((wire.env.now, i, d)))
    wire.c.add_rx_callback(lambda m: msgs_c.append(m.arbitration_id))
    wire.c.set_filters([{"can_id": 0x100, "can_mask": 0x7FF}])
    built = []
    original = can.Message.__init__

    def counting(self, *a, **kw):
        built.append(kw.get("channel"))
        original(self, *a, **kw)

    wire.send_at(1 * MS, wire.a, std(0x100, b"\x01" * 8))
    wire.send_at(1 * MS, wire.a, std(0x200, b"\x02" * 3))
    can.Message.__init__ = counting
    try:
        wire.env.run()
    finally:
        can.Message.__init__ = original
    ends = [t for t, _ts, _m, _s, _f in wire.ok_frames()]
    assert raw_b == [(ends[0], 0x100, b"\x01" * 8), (ends[1], 0x200, b"\x02" * 3)]
    assert all(type(d) is bytes for _t, _i, d in raw_b)
    assert raw_c == [(ends[0], 0x100, b"\x01" * 8)] and msgs_c == [0x100]
    assert "B" not in built and wire.b.frames_rx == 2
    wire.b.remove_frame_callback(wire.b._frame_callbacks[0])
    assert not wire.b._frame_callbacks


def test_standard_beats_extended_and_data_beats_remote(wire: Wire) -> None:
    wire.a.send(can.Message(arbitration_id=0x100 << 18, is_extended_id=True, data=b""))
    wire.b.send(std(0x100, b"", is_remote_frame=True))
    wire.c.send(std(0x100, b""))
    wire.env.run()
    got = [(m.is_extended_id, m.is_remote_frame) for _, _, m, _, _ in wire.seen]
    assert got == [(False, False), (False, True), (True, False)]
    assert wire.seen[2][4] == FLAG_EXTENDED


def test_frame_sent_onto_busy_bus_waits(wire: Wire) -> None:
    first, second = std(0x200), std(0x001)
    wire.send_at(0, wire.a, first)
    wire.send_at(50_000, wire.b, second)  # higher priority, but the bus is busy
    wire.env.run()
    (end1, start1, m1, _, _), (end2, start2, m2, _, _) = wire.seen
    assert (m1.arbitration_id, m2.arbitration_id) == (0x200, 0x001)
    assert start1 == 0 and end1 == dur(first)
    assert start2 == end1 and end2 == end1 + dur(second)


def test_reaction_in_rx_callback_joins_next_arbitration(wire: Wire) -> None:
    # The ECU answers PlantFast on reception; a lower-priority frame queued
    # meanwhile must lose against the answer at the frame end.
    wire.b.add_rx_callback(lambda m: wire.b.send(std(0x080, bytes(5)))
                           if m.arbitration_id == 0x090 else None)
    wire.send_at(0, wire.a, std(0x090))
    wire.send_at(10_000, wire.c, std(0x100))
    wire.env.run()
    assert [m.arbitration_id for _, _, m, _, _ in wire.seen] == [0x090, 0x080, 0x100]
    assert wire.seen[1][1] == wire.seen[0][0]


def test_recv_inside_a_process_does_not_advance_time(wire: Wire) -> None:
    results = []

    def proc() -> Iterator[simpy.Event]:
        wire.a.send(std(0x10))
        results.append((wire.env.now, wire.b.recv(timeout=1.0)))
        yield wire.env.timeout(1 * MS)
        results.append((wire.env.now, wire.b.recv(timeout=0)))

    wire.env.process(proc())
    wire.env.run()
    assert results[0] == (0, None)
    assert results[1][0] == 1 * MS and results[1][1].arbitration_id == 0x10


def test_recv_outside_advances_simulated_time_to_the_deadline(wire: Wire) -> None:
    assert wire.b.recv(timeout=0.25) is None
    assert wire.env.now == 250 * MS
    with pytest.raises(BusError):
        wire.b.recv()  # nothing can ever arrive


def test_rx_queue_is_bounded_and_counts_overflow() -> None:
    env = simpy.Environment()
    net = SimCanNetwork(env)
    tx, rx = net.connect("TX"), net.connect("RX", rx_queue_size=3)
    for i in range(5):
        tx.send(std(i, bytes([i])))
    env.run()
    assert rx.rx_overflows == 2
    assert [rx.recv(0).arbitration_id for _ in range(3)] == [2, 3, 4]
    tx.shutdown()
    rx.shutdown()


def test_send_periodic_runs_in_simulated_time(wire: Wire) -> None:
    counter = []

    def bump(msg: can.Message) -> None:
        msg.data[1] = (msg.data[1] + 1) % 15
        counter.append(wire.env.now)

    task = wire.a.send_periodic(std(0x090, bytes(8)), 0.001, modifier_callback=bump)
    wire.env.run(until=5 * MS + 1)
    task.stop()
    wire.env.run(until=10 * MS)
    assert counter == [0, 1 * MS, 2 * MS, 3 * MS, 4 * MS, 5 * MS]
    assert [m.data[1] for _, _, m, _, _ in wire.seen] == [1, 2, 3, 4, 5, 6]


def test_can_bus_factory_builds_a_sim_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the entry point 'sim = "hil.bus.sim:SimBus"' gives can.Bus.
    monkeypatch.setitem(can.interfaces.BACKENDS, "sim", ("hil.bus.sim", "SimBus"))
    net = SimCanNetwork(simpy.Environment())
    bus = can.Bus(interface="sim", channel="ECU", network=net, bitrate=500_000,
                  ignore_config=True)
    try:
        assert isinstance(bus, SimBus) and net.nodes == ("ECU",)
        assert bus.state is BusState.ACTIVE
    finally:
        bus.shutdown()
    assert net.nodes == ()
    with pytest.raises(ConfigError):
        SimBus(channel="X")
    with pytest.raises(ConfigError):
        SimBus(channel="X", network=net, bitrate=250_000)
    with pytest.raises(ConfigError):
        SimBus(channel="X", network=net, baudrate=500_000)


def test_duplicate_node_name_refused(wire: Wire) -> None:
    with pytest.raises(BusError):
        wire.net.connect("A")


def test_can_fd_frame_takes_two_phase_time() -> None:
    env = simpy.Environment()
    net = SimCanNetwork(env, bitrate=500_000, data_bitrate=2_000_000)
    a, b = net.connect("A"), net.connect("B")
    msg = can.Message(arbitration_id=0x90, is_extended_id=False, is_fd=True,
                      bitrate_switch=True, data=bytes(range(20)))
    a.send(msg)
    got = b.recv(1.0)
    nominal, data_phase = fd_frame_bits(0x90, 20)
    assert got.is_fd and len(got.data) == 20
    assert env.now == got.timestamp * 1e9 == nominal * 2000 + data_phase * 500
    classic = SimCanNetwork(simpy.Environment()).connect("A")
    with pytest.raises(BusError):
        classic.send(msg)
    for bus in (a, b, classic):
        bus.shutdown()


# -- load ------------------------------------------------------------------------

def test_bus_load_for_a_known_pattern() -> None:
    # The hand-counted 53-bit frame (test_bus_timing) every 1 ms: 106 us busy
    # per ms, so 10.6 % in every 10 ms window. Plus 0x090 8 bytes every 10 ms.
    env = simpy.Environment()
    net = SimCanNetwork(env)
    a, b = net.connect("A"), net.connect("B")
    slow = std(0x090, bytes(range(8)))
    slow_bits = frame_bits(0x090, bytes(range(8)))

    def traffic() -> Iterator[simpy.Event]:
        for k in range(100):
            yield env.timeout(k * MS - env.now)
            a.send(std(0x000, b""))
            if k % 10 == 5:
                b.send(slow)

    env.process(traffic())
    env.run(until=100 * MS)
    load = net.bus_load(10 * MS)
    expected = (10 * 53 + slow_bits) * BIT_NS / (10 * MS)
    assert load.shape == (10,)
    assert load == pytest.approx([expected] * 10, abs=1e-12)
    report = net.report(10 * MS)
    assert report["load_mean"] == pytest.approx(expected)
    assert report["frames"] == 110
    assert report["per_id"]["000"] == {"frames": 100, "bits": 5300}
    assert report["per_node"]["B"]["bits_tx"] == 10 * slow_bits
    assert net.busy_ns() == 100 * 53 * BIT_NS + 10 * slow_bits * BIT_NS
    # Windows straddling a frame get their share of it exactly.
    fine = net.bus_load(50_000)
    assert fine[0] == pytest.approx(1.0) and fine[2] == pytest.approx(6_000 / 50_000)
    a.shutdown()
    b.shutdown()


# -- faults ------------------------------------------------------------------------

def test_drop_occupies_the_wire_but_is_not_delivered(wire: Wire) -> None:
    fault = wire.net.inject_fault("drop", message_id=0x090, count=2)
    for k in range(3):
        wire.send_at(k * MS, wire.a, std(0x090, bytes([k]) * 8))
    wire.env.run()
    assert [m.data[0] for m in iter(lambda: wire.b.recv(0), None)] == [2]
    assert [f & FLAG_FAULTED for *_, f in wire.seen] == [FLAG_FAULTED, FLAG_FAULTED, 0]
    assert fault.hits == 2 and not fault.active
    assert wire.net.frames_total == 3


def test_drop_for_one_receiver_only(wire: Wire) -> None:
    fault = wire.net.inject_fault("drop", message_id=0x090, receiver="C")
    wire.a.send(std(0x090))
    wire.env.run()
    assert wire.b.recv(0) is not None and wire.c.recv(0) is None
    wire.net.clear_fault(fault)
    wire.a.send(std(0x090))
    wire.env.run()
    assert wire.c.recv(0) is not None


def test_stop_never_transmits(wire: Wire) -> None:
    fault = wire.net.inject_fault("stop", message_id=0x080)
    wire.a.send(std(0x080))
    wire.a.send(std(0x081))
    wire.env.run()
    assert [m.arbitration_id for _, _, m, _, _ in wire.seen] == [0x081]
    assert fault.hits == 1 and fault.active


def test_delay_adds_time_before_queueing(wire: Wire) -> None:
    wire.net.inject_fault("delay", message_id=0x090, delay_ns=300_000, count=1)
    wire.a.send(std(0x090))
    wire.env.run()
    end, start, _, _, flags = wire.seen[0]
    assert start == 300_000 and end == 300_000 + dur(std(0x090))
    assert flags & FLAG_FAULTED


def test_corrupt_breaks_the_e2e_crc_at_the_receiver(wire: Wire) -> None:
    data_id = 0x17
    payload = bytearray([0, 0x03, 0x10, 0x27, 0x64, 0, 0, 0])
    payload[0] = compute_profile2_crc(bytes(payload), data_id)
    assert check_profile2_crc(bytes(payload), data_id)
    wire.net.inject_fault("corrupt", message_id=0x090, count=1, byte=3, bit=2)
    wire.a.send(std(0x090, bytes(payload)))
    wire.a.send(std(0x090, bytes(payload)))
    wire.env.run()
    first, second = wire.b.recv(0), wire.b.recv(0)
    assert first.data[3] == payload[3] ^ 0x04
    assert not check_profile2_crc(bytes(first.data), data_id)
    assert check_profile2_crc(bytes(second.data), data_id)
    assert bytes(wire.seen[0][2].data) == bytes(first.data) and wire.seen[0][4] & FLAG_FAULTED
    wire.net.inject_fault("corrupt", message_id=0x091, xor=b"\xff\x00")
    wire.a.send(std(0x091, b"\x0f\x0f"))
    wire.env.run()
    assert bytes(wire.b.recv(0).data) == b"\xf0\x0f"


def test_duplicate_sends_the_frame_twice(wire: Wire) -> None:
    wire.net.inject_fault("duplicate", message_id=0x090, count=1)
    wire.a.send(std(0x090, b"\x01"))
    wire.a.send(std(0x090, b"\x02"))
    wire.env.run()
    assert [m.data[0] for m in iter(lambda: wire.b.recv(0), None)] == [1, 1, 2]
    assert wire.seen[1][1] == wire.seen[0][0] and wire.seen[1][4] & FLAG_FAULTED


def test_error_frames_retransmit_and_count_errors(wire: Wire) -> None:
    msg = std(0x090)
    bits = frame_bits(0x090, bytes(8))
    wire.net.inject_fault("error_frames", message_id=0x090, count=3)
    wire.a.send(msg)
    wire.env.run()
    attempt = (bits - 10 + ERROR_FRAME_BITS) * BIT_NS
    errors = [s for s in wire.seen if s[4] & FLAG_ERROR]
    assert [(ts, te) for te, ts, *_ in errors] == [(k * attempt, (k + 1) * attempt)
                                                   for k in range(3)]
    assert all(m.is_error_frame for _, _, m, _, _ in errors)
    (end, start, _, _, _), = wire.ok_frames()
    assert start == 3 * attempt and end == 3 * attempt + bits * BIT_NS
    assert wire.a.tec == 3 * 8 - 1 and wire.b.rec == 3 - 1
    assert wire.a.state is BusState.ACTIVE
    assert wire.b.recv(0).arbitration_id == 0x090 and wire.b.recv(0) is None
    assert wire.net.report()["error_frames"] == 3


def test_endless_errors_drive_the_sender_passive_then_bus_off_then_recovery(wire: Wire) -> None:
    fault = wire.net.inject_fault("error_frames", message_id=0x090, count=None)
    states = []
    wire.net.add_observer(lambda *_: states.append((wire.a.tec, wire.a.state)))
    wire.a.send(std(0x090))
    wire.a.send(std(0x091))
    wire.env.run(until=20 * MS)
    # Observers run before the counters move: TEC 8*k before the k+1-th error.
    assert states[15] == (120, BusState.ACTIVE) and states[16] == (128, BusState.PASSIVE)
    assert len(states) == 32  # 32 x 8 = 256 > 255: bus-off, queue flushed
    assert wire.a.bus_off_count == 1 and wire.a.tx_dropped == 1
    off_at = wire.seen[-1][0]
    (recovered,) = wire.a.recovered_at_ns
    assert recovered == off_at + 128 * 11 * BIT_NS  # idle bus: 128 x 11 recessive bits
    assert wire.a.state is BusState.ACTIVE and wire.a.tec == 0
    wire.net.clear_fault(fault)
    wire.a.send(std(0x090))
    wire.env.run()
    assert wire.b.recv(0) is not None


def test_bus_off_fault_without_recovery_until_cleared(wire: Wire) -> None:
    fault = wire.net.inject_fault("bus_off", node="A", recover=False)
    assert wire.a.state is BusState.ERROR and wire.a.is_bus_off
    wire.a.send(std(0x090))
    wire.b.send(std(0x100))
    wire.env.run(until=100 * MS)
    assert [m.arbitration_id for _, _, m, _, _ in wire.seen] == [0x100]
    assert wire.a.tx_dropped == 1 and wire.a.state is BusState.ERROR
    wire.net.clear_fault(fault)
    assert wire.a.state is BusState.ACTIVE
    wire.a.send(std(0x090))
    wire.env.run()
    assert wire.seen[-1][2].arbitration_id == 0x090


def test_bus_off_recovery_counts_frames_as_recessive_runs(wire: Wire) -> None:
    # Under back-to-back traffic every frame ends with 11 recessive bits (ACK
    # delimiter, EOF, IFS): recovery takes 128 frames, not 1408 bit times.
    wire.net.inject_fault("bus_off", node="A", recover=True)
    for _ in range(200):
        wire.b.send(std(0x100))
    wire.env.run()
    (recovered,) = wire.a.recovered_at_ns
    assert recovered == wire.seen[127][0]


def test_unknown_fault_kind_and_parameter_name_the_closest() -> None:
    net = SimCanNetwork(simpy.Environment())
    with pytest.raises(ConfigError, match="did you mean 'drop'"):
        net.inject_fault("drp", message_id=1)
    with pytest.raises(ConfigError, match="did you mean 'message_id'"):
        net.inject_fault("drop", mesage_id=1)
    with pytest.raises(ConfigError, match="needs delay_ns"):
        net.inject_fault("delay", message_id=1)


def test_duration_helper_matches_network_bitrate() -> None:
    env = simpy.Environment()
    net = SimCanNetwork(env, bitrate=125_000)
    a, b = net.connect("A"), net.connect("B")
    a.send(std(0x000, b""))  # the hand-counted 53-bit frame
    b.recv(1.0)
    assert env.now == frame_duration_ns(53, 125_000) == 53 * 8000
    a.shutdown()
    b.shutdown()


def test_a_later_event_at_the_same_instant_still_arbitrates(wire: Wire) -> None:
    # B's send happens after A's at the same instant, two zero-delay events
    # later: arbitration waits for every event of the instant, so 0x100 wins.
    def node_a() -> Iterator[simpy.Event]:
        yield wire.env.timeout(0)
        wire.a.send(std(0x300))

    def node_b() -> Iterator[simpy.Event]:
        yield wire.env.timeout(0)
        yield wire.env.timeout(0)
        wire.b.send(std(0x100))

    wire.env.process(node_a())
    wire.env.process(node_b())
    wire.env.run()
    assert [m.arbitration_id for _, _, m, _, _ in wire.seen] == [0x100, 0x300]
    assert wire.seen[0][1] == 0


def test_frame_on_the_wire_counts_toward_load_up_to_now(wire: Wire) -> None:
    wire.a.send(std(0x000, b""))  # 53 bits = 106 us
    wire.env.run(until=100_000)
    assert wire.net.busy_ns() == 100_000
    assert wire.net.bus_load(50_000).tolist() == [1.0, 1.0]
    wire.env.run()
    assert wire.net.busy_ns() == 106_000
