"""End-to-end protection of DBC messages: AUTOSAR E2E profile 2 (alive counter + CRC8).

The senders (plant node, ECU runtime) protect each E2E message with :class:`E2ETx`; the
ECU runtime checks every received one with :class:`E2ERx` and publishes the result as
``<Msg>_RxStatus`` (docs/interfaces.md). Layout, as the DBC declares it: CRC in byte 0
(``<Msg>_CRC``), counter in the low nibble of byte 1 (``<Msg>_Counter``); the CRC is
CRC8-AUTOSAR (poly 0x2F, init/xor-out 0xFF) over ``payload[1:]`` followed by the message's
``E2EDataId``. The counter runs 0..14 and wraps to 0; 15 is never sent.

cantools' ``compute_profile2_crc`` is the reference, but it costs ~4 µs per frame (crccheck,
pure Python, a new object per call); on a 1 ms path that is too much, so :func:`crc8_autosar`
is a 256-entry table (checked byte for byte against cantools in tests/wire).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cantools.database.can import Message

from hil.errors import DbcError
from hil.wire.codec import MessageCodec
from hil.wire.dbc import counter_signal_name, crc_signal_name
from hil.wire.flags import RxStatus

__all__ = [
    "RxStatus",
    "COUNTER_MODULO",
    "crc8_autosar",
    "profile2_crc",
    "E2ETx",
    "E2ERx",
]


#: Profile 2 counter values 0..14; 15 is never sent.
COUNTER_MODULO = 15

_POLY = 0x2F


def _make_table() -> bytes:
    table = bytearray(256)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[byte] = crc
    return bytes(table)


_TABLE = _make_table()


def crc8_autosar(data: bytes | bytearray, crc: int = 0xFF) -> int:
    """CRC8-AUTOSAR (SAE-J1850 polynomial 0x2F, init 0xFF, xor-out 0xFF, no reflection)."""
    table = _TABLE
    for byte in data:
        crc = table[crc ^ byte]
    return crc ^ 0xFF


def profile2_crc(payload: bytes | bytearray, data_id: int) -> int:
    """Same result as ``cantools.autosar.end_to_end.compute_profile2_crc(payload, data_id)``
    for payloads of 2 bytes or more: CRC over ``payload[1:]`` then the data id."""
    table = _TABLE
    crc = 0xFF
    for byte in payload[1:]:
        crc = table[crc ^ byte]
    return table[crc ^ data_id] ^ 0xFF


def _check_layout(message: Message) -> None:
    """The fast path writes the counter into byte 1 and the CRC into byte 0 directly, so the
    DBC must declare exactly that layout."""
    by_name = {signal.name: signal for signal in message.signals}
    crc = by_name.get(crc_signal_name(message))
    counter = by_name.get(counter_signal_name(message))
    if crc is None or counter is None:
        raise DbcError(f"{message.name}: E2E needs signals {crc_signal_name(message)} and "
                       f"{counter_signal_name(message)}")
    if (crc.start, crc.length, crc.byte_order, crc.is_signed) != (0, 8, "little_endian", False):
        raise DbcError(f"{message.name}: {crc.name} must be 0|8@1+ (byte 0)")
    if (counter.start, counter.length, counter.byte_order, counter.is_signed) != (
            8, 4, "little_endian", False):
        raise DbcError(f"{message.name}: {counter.name} must be 8|4@1+ (low nibble of byte 1)")
    if message.length < 2:
        raise DbcError(f"{message.name}: E2E profile 2 needs at least 2 bytes")


class E2ETx:
    """Sender side: ``protect(values)`` encodes the message with the next counter value and
    its CRC. The CRC and counter entries of ``values`` are ignored (and need not exist)."""

    def __init__(self, message_codec: MessageCodec, data_id: int) -> None:
        if not 0 <= data_id <= 0xFF:
            raise ValueError(f"{message_codec.name}: E2E data id {data_id} outside 0..255")
        message = message_codec.message
        _check_layout(message)
        self.message_codec = message_codec
        self.data_id = data_id
        self.counter = 0  # the value the next protect() sends
        self._encode_payload = message_codec.payload_encoder(
            (crc_signal_name(message), counter_signal_name(message)))

    def protect(self, values: Mapping[str, Any]) -> bytes:
        frame = bytearray(self._encode_payload(values))
        counter = self.counter
        frame[1] |= counter
        self.counter = 0 if counter == COUNTER_MODULO - 1 else counter + 1
        # Inline profile2_crc: this runs for every protected frame.
        table = _TABLE
        crc = 0xFF
        for byte in frame[1:]:
            crc = table[crc ^ byte]
        frame[0] = table[crc ^ self.data_id] ^ 0xFF
        return bytes(frame)


class E2ERx:
    """Receiver side: ``check(data)`` classifies each received frame.

    The first frame after construction or after :meth:`resync` (the ECU runtime calls it on
    a timeout) is accepted whatever its counter. A counter of 15 is invalid in profile 2 and
    reported as COUNTER_JUMP; the next valid frame re-synchronises.
    """

    def __init__(self, data_id: int, max_delta_counter: int = 1) -> None:
        if not 0 <= data_id <= 0xFF:
            raise ValueError(f"E2E data id {data_id} outside 0..255")
        if not 1 <= max_delta_counter < COUNTER_MODULO:
            raise ValueError(f"max_delta_counter {max_delta_counter} outside 1..14")
        self.data_id = data_id
        self.max_delta_counter = max_delta_counter
        self.last_counter: int | None = None  # None: next frame re-synchronises
        self.status = RxStatus.NEVER_RECEIVED

    def resync(self) -> None:
        """Forget the counter history: the next valid frame is accepted as OK."""
        self.last_counter = None

    def check(self, data: bytes | bytearray) -> int:
        if len(data) < 2:
            self.status = RxStatus.CRC_ERROR
            return RxStatus.CRC_ERROR
        table = _TABLE
        crc = 0xFF
        for byte in data[1:]:
            crc = table[crc ^ byte]
        if table[crc ^ self.data_id] ^ 0xFF != data[0]:
            # A corrupted frame says nothing about the sender's counter: keep the history.
            self.status = RxStatus.CRC_ERROR
            return RxStatus.CRC_ERROR
        counter = data[1] & 0x0F
        if counter >= COUNTER_MODULO:
            self.last_counter = None
            status = RxStatus.COUNTER_JUMP
        else:
            last = self.last_counter
            self.last_counter = counter
            if last is None:
                status = RxStatus.OK
            else:
                delta = (counter - last) % COUNTER_MODULO
                if delta == 0:
                    status = RxStatus.STALE
                elif delta <= self.max_delta_counter:
                    status = RxStatus.OK
                else:
                    status = RxStatus.COUNTER_JUMP
        self.status = status
        return status
