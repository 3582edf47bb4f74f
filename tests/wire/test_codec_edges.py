"""Codec edges against cantools (issue 12): float32 beyond its range, DBC bounds beyond
float32, infinities into integer signals with and without a DBC range.

Every value either encodes exactly as cantools encodes it, or (where cantools would send
something else than the value: ±inf for 1e39, or raise a bare OverflowError) raises the
documented one-line :class:`EncodeRangeError` naming message, signal, value and range in
"error" mode, and saturates to a representable value in "saturate" mode. Never another
exception, in both the compiled and the cantools path.
"""

from __future__ import annotations

import math

import cantools
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hil.errors import EncodeRangeError
from hil.wire.codec import FLOAT32_MAX, MessageCodec

# kind -> (length, SIG_VALTYPE_ or None, signed)
KINDS = {"float32": (32, 1, True), "float64": (64, 2, True), "u16": (16, None, False),
         "s12": (12, None, True), "u32": (32, None, False)}
RANGES = {"none": (0, 0), "float32": (-1e30, 1e30), "beyond_float32": (-1e39, 1e39),
          "small": (-100, 100), "positive": (0, 50)}


def _message(kind: str, rng: str, *, scale: float = 1, offset: float = 0,
             multiplexed: bool = False):
    length, valtype, signed = KINDS[kind]
    lo, hi = RANGES[rng]
    sign = "-" if signed else "+"
    mux = ""
    if multiplexed:  # the cantools path of the codec
        mux = ' SG_ Mux M : 0|8@1+ (1,0) [0|0] "" A\n'
    start = 8 if multiplexed else 0
    tag = " m0" if multiplexed else ""
    text = (f'VERSION ""\nBS_:\nBU_: A\nBO_ 1 M: 16 A\n{mux}'
            f' SG_ S{tag} : {start}|{length}@1{sign} ({scale:g},{offset:g}) [{lo:g}|{hi:g}] "" A\n')
    if valtype:
        text += f"SIG_VALTYPE_ 1 S : {valtype};\n"
    db = cantools.database.load_string(text, database_format="dbc", strict=False)
    return db.get_message_by_name("M")


EDGE_VALUES = [math.inf, -math.inf, 1e39, -1e39, 3.4028235e38, FLOAT32_MAX, 1e300, -1e300,
               1e30, 0.0, -0.0, 5.0, 1e6, -1e6, 2.0**63, 1e15]
values = st.one_of(st.sampled_from(EDGE_VALUES), st.floats(allow_nan=False),
                   st.integers(-(2**70), 2**70))


def _encode(codec: MessageCodec, value: float) -> bytes:
    return codec.encode({"S": value, "Mux": 0})


def _check(kind: str, rng: str, mode: str, multiplexed: bool, value: float) -> None:
    message = _message(kind, rng, multiplexed=multiplexed)
    codec = MessageCodec(message, mode)  # type: ignore[arg-type]
    assert codec.compiled is not multiplexed
    try:
        ours = _encode(codec, value)
    except EncodeRangeError as exc:
        assert mode == "error", f"saturate mode raised for {value!r}: {exc}"
        text = str(exc)
        assert "\n" not in text and "M.S" in text and repr(value) in text, text
        assert "range" in text, text
        return
    decoded = message.decode(ours, decode_choices=False)["S"]
    signal = message.get_signal_by_name("S")
    lo, hi = signal.minimum, signal.maximum
    if signal.is_float and signal.length == 32:
        assert math.isinf(decoded) or abs(decoded) <= FLOAT32_MAX
        if math.isinf(decoded):
            assert decoded == value  # only an infinity given encodes as one
    if lo is not None and mode == "saturate":
        assert lo - 1e-6 * abs(lo) <= decoded <= hi + 1e-6 * abs(hi) or (
            signal.length == 32 and signal.is_float and abs(decoded) <= FLOAT32_MAX)
    in_range = (lo is None or lo <= value) and (hi is None or value <= hi)
    try:
        theirs = message.encode({"S": value, "Mux": 0}, scaling=True, strict=False)
    except (OverflowError, ValueError, cantools.database.EncodeError):
        theirs = None
    representable = not (signal.is_float and signal.length == 32 and math.isfinite(value)
                         and abs(value) > FLOAT32_MAX)
    if in_range and representable and theirs is not None:
        assert ours == theirs, (value, ours.hex(), theirs.hex())


@pytest.mark.parametrize("multiplexed", [False, True], ids=["compiled", "cantools"])
@pytest.mark.parametrize("mode", ["error", "saturate"])
@pytest.mark.parametrize("rng", sorted(RANGES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_edge_values(kind, rng, mode, multiplexed):
    for value in EDGE_VALUES:
        _check(kind, rng, mode, multiplexed, value)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(KINDS)), rng=st.sampled_from(sorted(RANGES)),
       mode=st.sampled_from(["error", "saturate"]), multiplexed=st.booleans(), value=values)
def test_any_value_behaves_like_cantools_or_is_the_documented_error(kind, rng, mode,
                                                                    multiplexed, value):
    _check(kind, rng, mode, multiplexed, value)


def test_float32_beyond_its_range_names_signal_value_and_range():
    codec = MessageCodec(_message("float32", "none"), "error")
    with pytest.raises(EncodeRangeError, match=r"M\.S: value 1e\+39 does not fit the IEEE "
                       r"float32 field \(largest 3\.4028235e\+38; DBC range none"):
        codec.encode({"S": 1e39})
    assert codec.encode({"S": math.inf}) == _message("float32", "none").encode(
        {"S": math.inf})


def test_saturate_clamps_a_float32_whose_dbc_bound_exceeds_float32():
    message = _message("float32", "beyond_float32")
    codec = MessageCodec(message, "saturate")
    for value, expected in ((1e39, FLOAT32_MAX), (5e39, FLOAT32_MAX), (-math.inf, -FLOAT32_MAX)):
        decoded = message.decode(codec.encode({"S": value}))["S"]
        assert decoded == expected
    assert codec.saturation_counts["S"] == 3


def test_infinity_into_an_integer_without_a_dbc_range():
    message = _message("u16", "none")
    with pytest.raises(EncodeRangeError, match=r"M\.S: value inf cannot be encoded in the "
                       r"16-bit integer field \(raw \[0\|65535\]; DBC range none"):
        MessageCodec(message, "error").encode({"S": math.inf})
    sat = MessageCodec(message, "saturate")
    assert message.decode(sat.encode({"S": math.inf}))["S"] == 65535
    assert message.decode(sat.encode({"S": -math.inf}))["S"] == 0
