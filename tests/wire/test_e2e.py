"""AUTOSAR E2E profile 2: table CRC against cantools, counter sequence, rx statuses."""

from __future__ import annotations

import pytest
from cantools.autosar.end_to_end import compute_profile2_crc
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.errors import DbcError
from hil.wire.codec import Codec
from hil.wire.dbc import e2e_data_id, is_e2e, load_dbc
from hil.wire.e2e import COUNTER_MODULO, E2ERx, E2ETx, RxStatus, crc8_autosar, profile2_crc

from .strategies import DBC_PATHS

NTEC5 = load_dbc(DBC_PATHS["ntec5"])
CODEC = Codec(NTEC5)
PLANT_FAST = {"EngineSpeed": 3000, "ManifoldPressure": 98.5, "BoostPressure": 101.0,
              "Lambda": 1.0, "KnockIntensity": 0.2}


@settings(max_examples=2000, deadline=None)
@given(payload=st.binary(min_size=2, max_size=8), data_id=st.integers(0, 255))
def test_profile2_crc_equals_cantools(payload: bytes, data_id: int) -> None:
    assert profile2_crc(payload, data_id) == compute_profile2_crc(payload, data_id)


def test_crc8_autosar_check_value() -> None:
    assert crc8_autosar(b"123456789") == 0xDF  # catalogue check value of CRC-8/AUTOSAR


def make_tx() -> E2ETx:
    message = NTEC5.get_message_by_name("PlantFast")
    return E2ETx(CODEC.message("PlantFast"), e2e_data_id(message))


def test_tx_counter_runs_0_to_14_and_wraps_and_crc_is_cantools() -> None:
    tx = make_tx()
    message = NTEC5.get_message_by_name("PlantFast")
    values = dict(PLANT_FAST)
    counters = []
    for _ in range(2 * COUNTER_MODULO + 1):
        frame = tx.protect(values)
        decoded = message.decode(frame, decode_choices=False)
        counters.append(decoded["PlantFast_Counter"])
        assert frame[0] == compute_profile2_crc(frame, 144)
        assert {k: decoded[k] for k in PLANT_FAST} == PLANT_FAST
    assert counters == [*range(15), *range(15), 0]
    assert values == PLANT_FAST  # the caller's dict is not touched


def test_tx_ignores_stale_crc_and_counter_values() -> None:
    tx = make_tx()
    frame = tx.protect({**PLANT_FAST, "PlantFast_CRC": 7, "PlantFast_Counter": 9})
    assert frame[1] & 0x0F == 0


def test_every_e2e_message_of_ntec5_can_be_protected() -> None:
    for message in NTEC5.messages:
        if not is_e2e(message):
            assert message.name == "EcuDiag"
            continue
        codec = CODEC.message(message.name)
        values = {s.name: s.minimum for s in message.signals}
        frame = E2ETx(codec, e2e_data_id(message)).protect(values)
        assert E2ERx(e2e_data_id(message)).check(frame) == RxStatus.OK


def test_tx_refuses_a_message_without_e2e_signals() -> None:
    with pytest.raises(DbcError, match="EcuDiag_CRC"):
        E2ETx(CODEC.message("EcuDiag"), 1)


def test_rx_statuses() -> None:
    tx = make_tx()
    frames = [tx.protect(PLANT_FAST) for _ in range(20)]
    rx = E2ERx(144)
    assert rx.status == RxStatus.NEVER_RECEIVED
    assert rx.check(frames[5]) == RxStatus.OK          # first frame: re-sync
    assert rx.check(frames[6]) == RxStatus.OK
    assert rx.check(frames[6]) == RxStatus.STALE       # repeated
    assert rx.check(frames[8]) == RxStatus.COUNTER_JUMP  # frame 7 lost
    assert rx.check(frames[9]) == RxStatus.OK          # back in sequence
    corrupted = bytearray(frames[10])
    corrupted[3] ^= 0x10
    assert rx.check(corrupted) == RxStatus.CRC_ERROR
    assert rx.check(frames[10]) == RxStatus.OK         # a corrupt frame keeps the history
    assert rx.check(frames[14]) == RxStatus.COUNTER_JUMP
    assert rx.check(frames[15]) == RxStatus.OK         # 14 -> 0 wraps
    assert frames[15][1] & 0x0F == 0
    assert E2ERx(145).check(frames[0]) == RxStatus.CRC_ERROR  # wrong data id
    assert rx.check(frames[0][:1]) == RxStatus.CRC_ERROR


def test_rx_resync_after_timeout_and_max_delta() -> None:
    tx = make_tx()
    frames = [tx.protect(PLANT_FAST) for _ in range(15)]
    rx = E2ERx(144, max_delta_counter=2)
    assert rx.check(frames[0]) == RxStatus.OK
    assert rx.check(frames[2]) == RxStatus.OK          # one lost frame is tolerated
    assert rx.check(frames[5]) == RxStatus.COUNTER_JUMP
    rx.resync()
    assert rx.check(frames[12]) == RxStatus.OK
    with pytest.raises(ValueError):
        E2ERx(144, max_delta_counter=15)


def test_counter_15_is_invalid() -> None:
    frame = bytearray(make_tx().protect(PLANT_FAST))
    frame[1] |= 0x0F
    frame[0] = profile2_crc(frame, 144)
    rx = E2ERx(144)
    assert rx.check(frame) == RxStatus.COUNTER_JUMP


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.integers(0, 16), min_size=1, max_size=30),
       max_delta=st.integers(1, 14))
def test_rx_status_follows_the_counter_gap(steps: list[int], max_delta: int) -> None:
    """Skip ``k`` frames between receptions: 0 repeats the last frame (STALE, except as the
    first frame), 1..max_delta is OK, more is a jump (modulo 15: 15 skipped looks stale)."""
    tx = make_tx()
    rx = E2ERx(144, max_delta_counter=max_delta)
    frame = tx.protect(PLANT_FAST)
    assert rx.check(frame) == RxStatus.OK
    for gap in steps:
        for _ in range(gap):
            frame = tx.protect(PLANT_FAST)
        delta = gap % COUNTER_MODULO
        expected = (RxStatus.STALE if delta == 0 else
                    RxStatus.OK if delta <= max_delta else RxStatus.COUNTER_JUMP)
        assert rx.check(frame) == expected


def test_rx_status_codes_are_the_interface_numbers() -> None:
    assert [(s.name, int(s)) for s in RxStatus] == [
        ("OK", 0), ("NEVER_RECEIVED", 1), ("TIMEOUT", 2), ("STALE", 3),
        ("COUNTER_JUMP", 4), ("CRC_ERROR", 5)]
