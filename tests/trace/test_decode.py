"""The vectorised decoder equals cantools' decode, value for value (hypothesis)."""

from __future__ import annotations

import cantools
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.trace.decode import MessageDecoder

# Layouts ntec5 does not use but the decoder must get right: Motorola signals (within a
# byte, across bytes, 64-bit), signed, IEEE floats of both byte orders, odd scale/offset,
# and a CAN FD message wider than 8 bytes.
_EXTRA_SIGNALS = [  # (name, DBC layout, value type: 0 int, 1 float32, 2 float64)
    ("M1", '7|12@0+ (0.25,-10)', 0), ("M2", '11|9@0- (1,0)', 0), ("M3", '34|3@0+ (1,0)', 0),
    ("M4", '31|1@0+ (1,0)', 0), ("M5", '39|32@0- (0.001,5)', 0),
    ("L1", '3|13@1- (0.1,-2)', 0), ("F1", '0|32@1- (1,0)', 1), ("F2", '39|32@0- (2,1)', 1),
    ("W64", '0|64@1+ (1,0)', 0), ("WM", '7|63@0- (1,0)', 0), ("D", '0|64@1- (1,0)', 2),
    ("D2", '7|64@0- (1,0)', 2),
]
# One signal per message (cantools refuses overlapping signals), plus a 24-byte CAN FD
# message with signals beyond byte 8.
EXTRA_DBC = 'VERSION ""\nBU_: A\n' + "".join(
    f'BO_ {i + 1} X{name}: 8 A\n SG_ {name} : {layout} [0|0] "" A\n'
    for i, (name, layout, _) in enumerate(_EXTRA_SIGNALS)) + """BO_ 100 Fd: 24 A
 SG_ X1 : 70|20@1- (0.5,3) [0|0] "" A
 SG_ X2 : 150|17@0+ (1,0) [0|0] "" A
 SG_ X3 : 180|12@1+ (1,0) [0|0] "" A
""" + "".join(f"SIG_VALTYPE_ {i + 1} {name} : {kind};\n"
              for i, (name, _, kind) in enumerate(_EXTRA_SIGNALS) if kind)


def _databases():
    from pathlib import Path
    ntec5 = cantools.database.load_file(
        str(Path(__file__).resolve().parents[2] / "dbc" / "ntec5.dbc"))
    extra = cantools.database.load_string(EXTRA_DBC, database_format="dbc")
    return [m for db in (ntec5, extra) for m in db.messages]


MESSAGES = _databases()


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: m.name)
def test_all_vectorised(msg):
    assert MessageDecoder(msg).vectorised


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MESSAGES), st.data())
def test_decode_equals_cantools(msg, data):
    n = data.draw(st.integers(1, 20))
    payloads = [data.draw(st.binary(min_size=msg.length, max_size=msg.length))
                for _ in range(n)]
    arr = np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(n, msg.length)
    dlc = np.full(n, msg.length, dtype=np.uint8)
    got = MessageDecoder(msg).decode(arr, dlc)
    for i, payload in enumerate(payloads):
        want = msg.decode(payload, decode_choices=False, scaling=True)
        for name, value in want.items():
            mask, values = got[name]
            assert mask is None
            assert _same(values[i], float(value)), (msg.name, name, payload.hex())


def test_short_frames_are_masked():
    msg = next(m for m in MESSAGES if m.name == "PlantFast")
    data = np.zeros((2, 8), dtype=np.uint8)
    got = MessageDecoder(msg).decode(data, np.array([8, 3]))
    mask, _ = got["EngineSpeed"]               # bits 12..25 need 4 bytes
    assert mask.tolist() == [True, False]
    assert got["PlantFast_Counter"][0] is None  # bits 8..11 fit in 3 bytes


def test_multiplexed_falls_back_to_cantools():
    db = cantools.database.load_string("""VERSION ""
BU_: A
BO_ 7 Mux: 8 A
 SG_ Sel M : 0|8@1+ (1,0) [0|0] "" A
 SG_ A m0 : 8|16@1+ (0.1,0) [0|0] "" A
 SG_ B m1 : 8|8@1- (1,0) [0|0] "" A
""", database_format="dbc")
    msg = db.get_message_by_name("Mux")
    dec = MessageDecoder(msg)
    assert not dec.vectorised
    data = np.array([[0, 0x10, 0x27, 0, 0, 0, 0, 0], [1, 0xFF, 0, 0, 0, 0, 0, 0]], np.uint8)
    got = dec.decode(data, np.array([8, 8]))
    mask_a, a = got["A"]
    mask_b, b = got["B"]
    assert mask_a.tolist() == [True, False] and a[0] == pytest.approx(1000.0)
    assert mask_b.tolist() == [False, True] and b[1] == -1
