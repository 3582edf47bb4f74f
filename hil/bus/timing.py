"""Exact on-the-wire length of CAN frames, from their actual bits.

The simulated bus needs the length of every frame to know when it ends and when
the next one may start; the 1 ms safety path of the bench is judged on these
figures, so a classic frame is counted exactly: its CRC-15 is computed and its
bit stuffing is counted from the real bit stream, not estimated.

This runs 2-3 times per simulated millisecond, so the classic path is
table-driven over whole bytes (CRC-15 and the stuffing state machine). The
header is not byte-aligned (19 bits standard, 39 extended); it is padded in
front so that the stream is byte-aligned:

* for the CRC with zeros, which leave a zero-initialised CRC unchanged;
* for the stuffing with alternating bits ending in 1, which never make a run
  of five and leave the machine as "last bit recessive" before the dominant
  SOF, exactly the state of an idle bus.

A slow bit-by-bit reference lives in ``tests/bus/`` and is checked equal to
this one with hypothesis.
"""

from __future__ import annotations

from hil.config.units import NS_PER_S

__all__ = [
    "CRC15_POLY",
    "FD_DATA_LENGTHS",
    "FRAME_TAIL_BITS",
    "crc15",
    "fd_frame_bits",
    "frame_bits",
    "frame_duration_ns",
    "stuff_bit_count",
]

#: CAN CRC-15 generator x^15 + x^14 + x^10 + x^8 + x^7 + x^4 + x^3 + 1.
CRC15_POLY = 0x4599

#: Bits after the CRC sequence that are never stuffed: CRC delimiter 1,
#: ACK slot 1, ACK delimiter 1, end of frame 7, interframe space 3.
FRAME_TAIL_BITS = 1 + 2 + 7 + 3

#: Payload lengths a CAN FD frame can carry; others are padded up to the next.
FD_DATA_LENGTHS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)

_STD_HEADER_BITS = 19  # SOF, 11 id, RTR, IDE, r0, 4 DLC
_EXT_HEADER_BITS = 39  # SOF, 11 id A, SRR, IDE, 18 id B, RTR, r1, r0, 4 DLC


def _build_crc_table() -> tuple[int, ...]:
    """CRC-15 of every byte value, for the byte-wise update."""
    table = []
    for byte in range(256):
        reg = byte << 7
        for _ in range(8):
            reg = ((reg << 1) ^ CRC15_POLY) if reg & 0x4000 else (reg << 1)
            reg &= 0x7FFF
        table.append(reg)
    return tuple(table)


def _build_stuff_table() -> tuple[int, ...]:
    """Stuffing state machine stepped over one byte, for every state and byte.

    A state is ``(last_bit << 3) | run`` (run 0..4 live bits of that value;
    run 0 only at the very start). Index ``(state << 8) | byte``; value
    ``(new_state << 8) | stuff_bits_inserted``, so the next index is
    ``(value & 0xFF00) | next_byte``. A stuff bit is the complement of the run
    and starts the next run (ISO 11898-1).
    """
    table = [0] * (16 << 8)
    for last in (0, 1):
        for run in range(5):
            state = (last << 3) | run
            for byte in range(256):
                cur_last, cur_run, stuffed = last, run, 0
                for shift in range(7, -1, -1):
                    bit = (byte >> shift) & 1
                    if bit == cur_last:
                        cur_run += 1
                    else:
                        cur_last, cur_run = bit, 1
                    if cur_run == 5:
                        stuffed += 1
                        cur_last, cur_run = cur_last ^ 1, 1
                table[(state << 8) | byte] = (((cur_last << 3) | cur_run) << 8) | stuffed
    return tuple(table)


_CRC_TABLE = _build_crc_table()
_STUFF_TABLE = _build_stuff_table()
# Stuffing pads: alternating bits ending in 1, as many as the header lacks to a byte.
_STD_STUFF_PAD = 0b10101 << _STD_HEADER_BITS  # 5 pad bits -> 24-bit header
_EXT_STUFF_PAD = 0b1 << _EXT_HEADER_BITS  # 1 pad bit -> 40-bit header
# Machine state before the padded stream: "last bit 0, run 0" (the pad's
# first bit, 1, then starts a fresh run).
_START_STATE = 0


def crc15(data: bytes | bytearray, crc: int = 0) -> int:
    """CAN CRC-15 of whole bytes, MSB first, continuing from ``crc``."""
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0x7FFF) ^ table[((crc >> 7) ^ byte) & 0xFF]
    return crc


def stuff_bit_count(data: bytes | bytearray, state: int = _START_STATE) -> int:
    """Stuff bits a transmitter inserts in ``data`` (MSB first) from ``state``."""
    table = _STUFF_TABLE
    value = state << 8
    total = 0
    for byte in data:
        value = table[(value & 0xFF00) | byte]
        total += value & 0xFF
    return total


def frame_bits(
    arbitration_id: int,
    data: bytes | bytearray = b"",
    is_extended: bool = False,
    is_remote: bool = False,
    dlc: int | None = None,
) -> int:
    """Exact length in bits of a classic CAN frame, stuffing and IFS included.

    ``dlc`` defaults to ``len(data)``; a remote frame carries no data but may
    request a DLC. Counted: SOF, identifier (plus SRR/IDE for extended), RTR,
    IDE/r1, r0, DLC, data, CRC-15 over SOF..data, the stuff bits inserted from
    SOF through the CRC sequence (including one after a final run of five),
    then CRC delimiter, ACK slot and delimiter, 7 EOF and 3 IFS bits.
    """
    n = len(data)
    if n > 8:
        raise ValueError(f"a classic CAN frame carries at most 8 bytes, got {n}")
    if dlc is None:
        dlc = n
    elif not 0 <= dlc <= 15:
        raise ValueError(f"DLC must be 0..15, got {dlc}")
    if is_remote:
        if n:
            raise ValueError("a remote frame carries no data")
    elif min(dlc, 8) != n:  # DLC 9..15 still means 8 bytes in classic CAN
        raise ValueError(f"DLC {dlc} does not match {n} data bytes")
    if is_extended:
        if not 0 <= arbitration_id < 1 << 29:
            raise ValueError(f"extended identifier out of range: {arbitration_id:#x}")
    elif not 0 <= arbitration_id < 1 << 11:
        raise ValueError(f"standard identifier out of range: {arbitration_id:#x}")
    head = _HEADERS.get((arbitration_id, is_extended, is_remote, dlc))
    if head is None:
        head = _header(arbitration_id, is_extended, is_remote, dlc)
    # CRC and stuffing continue from the header's state over the data in one loop
    # (inlined, not crc15()/stuff_bit_count(): this runs for every frame on the bus).
    crc, value, stuffed, header_bits = head
    crc_table = _CRC_TABLE
    table = _STUFF_TABLE
    for byte in data:
        crc = ((crc << 8) & 0x7FFF) ^ crc_table[((crc >> 7) ^ byte) & 0xFF]
        value = table[(value & 0xFF00) | byte]
        stuffed += value & 0xFF
    # Both paddings leave the stream one bit short of a byte after the CRC;
    # complete it with the complement of the last CRC bit, which can never
    # complete a run of five.
    tail = (crc << 1) | ((crc & 1) ^ 1)
    value = table[(value & 0xFF00) | (tail >> 8)]
    stuffed += value & 0xFF
    value = table[(value & 0xFF00) | (tail & 0xFF)]
    stuffed += value & 0xFF
    return header_bits + 8 * n + 15 + stuffed + FRAME_TAIL_BITS


#: (id, extended, remote, dlc) -> CRC register, stuffing machine value, stuff bits and
#: bit count after the header: a frame's header repeats, its data does not.
_HEADERS: dict[tuple[int, bool, bool, int], tuple[int, int, int, int]] = {}


def _header(arbitration_id: int, is_extended: bool, is_remote: bool,
            dlc: int) -> tuple[int, int, int, int]:
    if is_extended:
        header = (
            ((arbitration_id >> 18) << 27)
            | (0b11 << 25)  # SRR, IDE recessive
            | ((arbitration_id & 0x3FFFF) << 7)
            | (is_remote << 6)
            | dlc
        )
        crc_head = header.to_bytes(5, "big")
        stuff_head = (header | _EXT_STUFF_PAD).to_bytes(5, "big")
        header_bits = _EXT_HEADER_BITS
    else:
        header = (arbitration_id << 7) | (is_remote << 6) | dlc
        crc_head = header.to_bytes(3, "big")
        stuff_head = (header | _STD_STUFF_PAD).to_bytes(3, "big")
        header_bits = _STD_HEADER_BITS
    crc = crc15(crc_head)
    value = _START_STATE << 8
    stuffed = 0
    for byte in stuff_head:
        value = _STUFF_TABLE[(value & 0xFF00) | byte]
        stuffed += value & 0xFF
    head = (crc, value & 0xFF00, stuffed, header_bits)
    if len(_HEADERS) >= 4096:
        _HEADERS.clear()
    _HEADERS[(arbitration_id, bool(is_extended), bool(is_remote), dlc)] = head
    return head


def fd_frame_bits(
    arbitration_id: int,
    data_length: int,
    is_extended: bool = False,
    bitrate_switch: bool = True,
) -> tuple[int, int]:
    """Length of a CAN FD frame as ``(nominal_phase_bits, data_phase_bits)``.

    Simplified model, because FD's exact stuffing depends on the CRC-17/21 with
    a non-zero init and on fixed stuff bits; the bench needs FD frames to take
    plausible, conservative time, not bit-exact time:

    * Nominal (arbitration) phase: SOF, identifier (11, or 11+SRR+IDE+18), RRS,
      IDE, FDF, res, BRS, plus the worst-case dynamic stuff bits of that span
      (one per four bits after the first); then CRC delimiter, ACK slot and
      delimiter, EOF 7 and IFS 3.
    * Data phase: ESI, DLC 4, the payload padded up to a valid FD length,
      stuff count 4, CRC 17 (payload <= 16 bytes) or 21, the fixed stuff bits
      (one before the stuff count and one every four bits of stuff count and
      CRC) and worst-case dynamic stuff bits over ESI..data.
    * Without ``bitrate_switch`` the caller times both phases at the nominal
      bitrate (the split is still returned).
    """
    length = next((size for size in FD_DATA_LENGTHS if size >= data_length), None)
    if length is None or data_length < 0:
        raise ValueError(f"a CAN FD frame carries 0..64 bytes, got {data_length}")
    if is_extended:
        if not 0 <= arbitration_id < 1 << 29:
            raise ValueError(f"extended identifier out of range: {arbitration_id:#x}")
        arbitration = 1 + 11 + 1 + 1 + 18 + 1 + 1 + 1 + 1
    else:
        if not 0 <= arbitration_id < 1 << 11:
            raise ValueError(f"standard identifier out of range: {arbitration_id:#x}")
        arbitration = 1 + 11 + 1 + 1 + 1 + 1 + 1
    nominal = arbitration + (arbitration - 1) // 4 + FRAME_TAIL_BITS
    dynamic = 1 + 4 + 8 * length
    crc_len = 17 if length <= 16 else 21
    fixed_stuff = (4 + crc_len) // 4 + 1
    data_phase = dynamic + dynamic // 4 + 4 + crc_len + fixed_stuff
    return nominal, data_phase


def frame_duration_ns(
    bits: int, bitrate: int, data_bits: int = 0, data_bitrate: int | None = None
) -> int:
    """Integer nanoseconds on the wire: ``bits`` at ``bitrate`` plus ``data_bits``
    at ``data_bitrate`` (the CAN FD data phase; nominal rate if None).

    Rounded to the nearest ns once for the whole frame, so common bitrates
    (125k, 250k, 500k, 1M, 2M, 5M) are exact: 2000 ns per bit at 500 kbit/s.
    """
    if bitrate <= 0 or (data_bitrate is not None and data_bitrate <= 0):
        raise ValueError("bitrate must be positive")
    if not data_bits:
        return (bits * NS_PER_S + bitrate // 2) // bitrate
    rate = bitrate if data_bitrate is None else data_bitrate
    # Sum of two fractions with a common denominator, rounded once.
    num = bits * NS_PER_S * rate + data_bits * NS_PER_S * bitrate
    den = bitrate * rate
    return (num + den // 2) // den
