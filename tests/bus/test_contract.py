"""One contract suite, run against the simulated bus and python-can's virtual bus.

In the style of python-can's back2back tests: whatever a node may rely on from
a python-can bus must hold on the simulated one too, so nodes written against
``BusABC`` run unchanged on either. Sim timeouts are simulated seconds (recv
advances the simulation); virtual timeouts are wall seconds.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import can
import pytest
import simpy

from hil.bus import SimCanNetwork

TIMEOUT_S = 1.0
# Short wait used only to show that nothing arrives; not a timing assertion.
NOTHING_S = 0.05


@dataclass
class Pair:
    sender: can.BusABC
    receiver: can.BusABC
    make_own: object  # () -> bus that receives its own messages


@pytest.fixture(params=["sim", "virtual"])
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    opened: list[can.BusABC] = []
    if request.param == "sim":
        network = SimCanNetwork(simpy.Environment(), bitrate=500_000)
        names = (f"node{i}" for i in itertools.count())

        def open_bus(**kwargs: object) -> can.BusABC:
            bus = network.connect(next(names), **kwargs)
            opened.append(bus)
            return bus
    else:
        channel = f"contract-{uuid.uuid4().hex}"

        def open_bus(**kwargs: object) -> can.BusABC:
            bus = can.Bus(interface="virtual", channel=channel, **kwargs)
            opened.append(bus)
            return bus
    try:
        yield Pair(open_bus(), open_bus(), lambda: open_bus(receive_own_messages=True))
    finally:
        for bus in opened:
            bus.shutdown()


FRAMES = {
    "standard": can.Message(arbitration_id=0x123, is_extended_id=False, data=b"\x01\x02\x03"),
    "extended": can.Message(arbitration_id=0x1ABCDEF0 & 0x1FFFFFFF, is_extended_id=True,
                            data=b"\xde\xad"),
    "remote": can.Message(arbitration_id=0x321, is_extended_id=False, is_remote_frame=True,
                          dlc=4),
    "zero_length": can.Message(arbitration_id=0x7FF, is_extended_id=False, data=b""),
    "eight_bytes": can.Message(arbitration_id=0x000, is_extended_id=False,
                               data=bytes(range(0xF8, 0x100))),
}


def assert_same_frame(sent: can.Message, got: can.Message | None) -> None:
    assert got is not None
    assert got.arbitration_id == sent.arbitration_id
    assert got.is_extended_id == sent.is_extended_id
    assert got.is_remote_frame == sent.is_remote_frame
    assert got.dlc == sent.dlc
    assert bytes(got.data) == bytes(sent.data)
    assert got.is_rx


@pytest.mark.parametrize("kind", list(FRAMES))
def test_round_trip(pair: Pair, kind: str) -> None:
    sent = FRAMES[kind]
    pair.sender.send(sent)
    assert_same_frame(sent, pair.receiver.recv(TIMEOUT_S))


def test_data_integrity_and_order_per_sender(pair: Pair) -> None:
    rng = random.Random(7)
    # Ids descend so that an implementation ordering by priority inside one
    # sender's FIFO would be caught: python-can keeps a sender's order.
    sent = [can.Message(arbitration_id=0x7FF - i, is_extended_id=False,
                        data=bytes(rng.randrange(256) for _ in range(rng.randrange(9))))
            for i in range(40)]
    for msg in sent:
        pair.sender.send(msg)
    for msg in sent:
        assert_same_frame(msg, pair.receiver.recv(TIMEOUT_S))


def test_filters(pair: Pair) -> None:
    pair.receiver.set_filters([{"can_id": 0x120, "can_mask": 0x7F0, "extended": False}])
    pair.sender.send(can.Message(arbitration_id=0x100, is_extended_id=False, data=b"\x00"))
    pair.sender.send(can.Message(arbitration_id=0x12A, is_extended_id=True, data=b"\x01"))
    wanted = can.Message(arbitration_id=0x12B, is_extended_id=False, data=b"\x02")
    pair.sender.send(wanted)
    assert_same_frame(wanted, pair.receiver.recv(TIMEOUT_S))
    assert pair.receiver.recv(NOTHING_S) is None


def test_no_self_reception_by_default(pair: Pair) -> None:
    pair.sender.send(FRAMES["standard"])
    assert pair.receiver.recv(TIMEOUT_S) is not None
    assert pair.sender.recv(NOTHING_S) is None


def test_receive_own_messages(pair: Pair) -> None:
    own = pair.make_own()
    own.send(FRAMES["extended"])
    echo = own.recv(TIMEOUT_S)
    assert echo is not None and echo.arbitration_id == FRAMES["extended"].arbitration_id
    assert not echo.is_rx
    assert_same_frame(FRAMES["extended"], pair.receiver.recv(TIMEOUT_S))


def test_sender_may_reuse_its_message(pair: Pair) -> None:
    msg = can.Message(arbitration_id=0x55, is_extended_id=False, data=b"\x01")
    pair.sender.send(msg)
    msg.data[0] = 0x02
    pair.sender.send(msg)
    assert pair.receiver.recv(TIMEOUT_S).data[0] == 0x01
    assert pair.receiver.recv(TIMEOUT_S).data[0] == 0x02
