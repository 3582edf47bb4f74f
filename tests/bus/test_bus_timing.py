"""Frame timing: the fast table-driven count equals a bit-by-bit reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.bus.timing import (
    FD_DATA_LENGTHS,
    crc15,
    fd_frame_bits,
    frame_bits,
    frame_duration_ns,
)


def _bits(value: int, width: int) -> list[int]:
    return [(value >> shift) & 1 for shift in range(width - 1, -1, -1)]


def reference_frame_bits(can_id: int, data: bytes, extended: bool, remote: bool,
                         dlc: int | None = None) -> int:
    """ISO 11898-1 read literally: build the bit list, shift the CRC register
    one bit at a time, walk the stream counting stuff bits."""
    dlc = len(data) if dlc is None else dlc
    stream = [0]  # SOF
    if extended:
        stream += _bits(can_id >> 18, 11) + [1, 1] + _bits(can_id & 0x3FFFF, 18) + [int(remote), 0, 0]
    else:
        stream += _bits(can_id, 11) + [int(remote), 0, 0]
    stream += _bits(dlc, 4)
    for byte in data:
        stream += _bits(byte, 8)
    crc = 0
    for bit in stream:
        crc_next = bit ^ ((crc >> 14) & 1)
        crc = (crc << 1) & 0x7FFF
        if crc_next:
            crc ^= 0x4599
    stream += _bits(crc, 15)
    stuff, last, run = 0, None, 0
    for bit in stream:
        if bit == last:
            run += 1
        else:
            last, run = bit, 1
        if run == 5:  # insert the complement; it starts the next run
            stuff += 1
            last, run = 1 - last, 1
    return len(stream) + stuff + 1 + 2 + 7 + 3  # CRC delim, ACK, EOF, IFS


def test_crc15_catalogue_check_value() -> None:
    # CRC-15/CAN in the CRC catalogue (Greg Cook): check("123456789") = 0x059E.
    assert crc15(b"123456789") == 0x059E


def test_hand_counted_empty_frame() -> None:
    # id 0x000, data frame, DLC 0. SOF..DLC is 19 dominant bits; CRC-15 of an
    # all-zero stream with zero init is 0, so SOF..CRC is 34 zeros:
    #   00000 1 00000 1 00000 1 00000 1 00000 1 00000 1 0000
    # A stuff bit (1) after every 5 zeros, each starting a new run: 6 stuff bits.
    # 34 + 6 stuffed, + CRC delim 1 + ACK 2 + EOF 7 + IFS 3 = 53 bits.
    assert frame_bits(0x000, b"") == 53
    assert reference_frame_bits(0x000, b"", False, False) == 53


def test_hand_counted_all_recessive_id() -> None:
    # id 0x7FF, remote, DLC 0: SOF 0, then 11 ones + RTR 1 = 12 ones:
    #   0 11111 0 11111 0 11 | IDE r0 = 00, DLC 0000 ...
    # two stuff bits inside the id; the rest (with its CRC) from the reference.
    bits = frame_bits(0x7FF, b"", is_remote=True)
    assert bits == reference_frame_bits(0x7FF, b"", False, True)
    assert bits >= 47 + 2


def test_reference_figures_8_byte_frames() -> None:
    # docs/architecture.md "The 1 ms budget": 111 bits unstuffed (131 extended), at most 135 (160).
    for data in (bytes(8), b"\xff" * 8, bytes(range(8)), b"\x55" * 8):
        assert 111 <= frame_bits(0x123, data) <= 135
        assert 131 <= frame_bits(0x1ABCDEF, data, is_extended=True) <= 160


def test_duration_is_exact_integer_ns() -> None:
    assert frame_duration_ns(1, 500_000) == 2000
    assert frame_duration_ns(135, 500_000) == 270_000
    assert frame_duration_ns(135, 125_000) == 1_080_000
    assert frame_duration_ns(135, 1_000_000) == 135_000
    # FD: 30 nominal bits at 500k + 100 data bits at 2M.
    assert frame_duration_ns(30, 500_000, 100, 2_000_000) == 60_000 + 50_000


@settings(max_examples=2000, deadline=None)
@given(
    extended=st.booleans(),
    remote=st.booleans(),
    can_id=st.integers(0, (1 << 29) - 1),
    data=st.binary(min_size=0, max_size=8),
)
def test_fast_equals_reference(extended: bool, remote: bool, can_id: int, data: bytes) -> None:
    if not extended:
        can_id &= 0x7FF
    dlc = len(data)
    if remote:
        data = b""
    fast = frame_bits(can_id, data, extended, remote, dlc)
    assert fast == reference_frame_bits(can_id, data, extended, remote, dlc)
    # Stuffing bound (Davis et al.): floor((g + 8n - 1) / 4), g = 34 or 54.
    n = len(data)
    g = 54 if extended else 34
    unstuffed = g + 8 * n + 13
    assert unstuffed <= fast <= unstuffed + (g + 8 * n - 1) // 4


def test_worst_case_stuffing_pattern_reaches_bound_region() -> None:
    # Long runs of equal bits in id and data make many stuff bits; the exact
    # count still never exceeds the bound and matches the reference.
    data = b"\x78\x3c\x1e\x0f\x87\xc3\xe1\xf0"
    fast = frame_bits(0x000, data)
    assert fast == reference_frame_bits(0x000, data, False, False)
    assert fast > 111 + 10


@pytest.mark.parametrize("bad", [
    lambda: frame_bits(0x800, b""),
    lambda: frame_bits(1 << 29, b"", is_extended=True),
    lambda: frame_bits(0x1, bytes(9)),
    lambda: frame_bits(0x1, b"\x01", is_remote=True),
    lambda: frame_bits(0x1, b"\x01", dlc=2),
    lambda: fd_frame_bits(0x1, 65),
])
def test_invalid_frames_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        bad()


def test_fd_model_pads_to_valid_length_and_grows_with_payload() -> None:
    assert fd_frame_bits(0x1, 9) == fd_frame_bits(0x1, 12)
    previous = (0, 0)
    for length in FD_DATA_LENGTHS:
        nominal, data_phase = fd_frame_bits(0x1, length)
        assert nominal == previous[0] or previous == (0, 0)
        assert data_phase > previous[1]
        previous = (nominal, data_phase)
    # Standard id: 17 arbitration bits + 4 worst-case stuff + 13 tail.
    assert fd_frame_bits(0x1, 8)[0] == 17 + 4 + 13
