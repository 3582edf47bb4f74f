"""Range policy, value tables, missing signals, lengths and the cantools fallback."""

from __future__ import annotations

import math

import cantools
import pytest
from cantools.database.can import Message, Signal

from hil.errors import EncodeRangeError
from hil.wire.codec import Codec, FrameLengthError, MessageCodec, MissingSignalError
from hil.wire.dbc import load_dbc

from .strategies import DBC_PATHS

NTEC5 = load_dbc(DBC_PATHS["ntec5"])
FEATURES = load_dbc(DBC_PATHS["features"])

ECU_FAST = {"EcuFast_CRC": 0, "EcuFast_Counter": 3, "FuelCut": 0, "SparkCut": 0,
            "FuelMass": 12.3, "SparkAdvance": 20.5, "WastegateCmd": 40}
EXT = {"Mode": 1, "Temp": 20.0, "Scaled": 600, "NoRange": 100, "Wider": 10, "NegScale": 2}


def test_error_mode_names_message_signal_value_and_range() -> None:
    codec = Codec(NTEC5).message("EcuFast")
    with pytest.raises(EncodeRangeError) as info:
        codec.encode({**ECU_FAST, "FuelMass": 300.0})
    text = str(info.value)
    assert "\n" not in text
    assert "EcuFast" in text and "FuelMass" in text and "300.0" in text and "[0|204.7]" in text
    assert isinstance(info.value, ValueError)


def test_saturate_mode_clamps_to_the_range_and_counts() -> None:
    codec = Codec(NTEC5, out_of_range="saturate").message("EcuFast")
    cantools_msg = NTEC5.get_message_by_name("EcuFast")
    frame = codec.encode({**ECU_FAST, "FuelMass": 300.0, "SparkAdvance": -90})
    assert frame == cantools_msg.encode({**ECU_FAST, "FuelMass": 204.7, "SparkAdvance": -40})
    assert codec.saturation_counts["FuelMass"] == 1
    assert codec.saturation_counts["SparkAdvance"] == 1
    codec.encode({**ECU_FAST, "FuelMass": math.inf})
    assert codec.saturation_counts["FuelMass"] == 2
    codec.encode(ECU_FAST)  # in range: no count
    assert codec.saturation_counts["FuelMass"] == 2
    assert codec.saturation_counts["WastegateCmd"] == 0


def test_value_within_cantools_tolerance_is_not_saturated() -> None:
    codec = Codec(NTEC5, out_of_range="saturate").message("EcuFast")
    cantools_msg = NTEC5.get_message_by_name("EcuFast")
    values = {**ECU_FAST, "FuelMass": 204.70000001}
    assert codec.encode(values) == cantools_msg.encode(values)
    assert codec.saturation_counts["FuelMass"] == 0


def test_nan_is_refused_in_both_modes() -> None:
    for mode in ("error", "saturate"):
        codec = Codec(NTEC5, out_of_range=mode).message("EcuFast")
        with pytest.raises(EncodeRangeError, match="nan"):
            codec.encode({**ECU_FAST, "SparkAdvance": math.nan})


def test_dbc_range_wider_than_the_field() -> None:
    # Wider: DBC [0|100] on a 6-bit field (0..63); NoRange: [0|0] = no DBC range.
    strict = Codec(FEATURES).message("ExtStatus")
    with pytest.raises(EncodeRangeError, match="6-bit field"):
        strict.encode({**EXT, "Wider": 80})
    with pytest.raises(EncodeRangeError, match="NoRange"):
        strict.encode({**EXT, "NoRange": 5000})
    sat = Codec(FEATURES, out_of_range="saturate").message("ExtStatus")
    assert sat.decode(sat.encode({**EXT, "Wider": 80}))["Wider"] == 63
    assert sat.decode(sat.encode({**EXT, "Wider": 1000}))["Wider"] == 63
    assert sat.saturation_counts["Wider"] == 2  # once per clamped value, never twice
    assert sat.decode(sat.encode({**EXT, "NoRange": 5000}))["NoRange"] == 2046
    assert sat.saturation_counts["NoRange"] == 1


def test_value_table_names_and_numbers() -> None:
    codec = Codec(FEATURES).message("ExtStatus")
    cantools_msg = FEATURES.get_message_by_name("ExtStatus")
    # A table value outside [min|max] is accepted, as cantools does.
    for mode in ("INVALID", 7, "FAULT", 2):
        assert codec.encode({**EXT, "Mode": mode}) == cantools_msg.encode({**EXT, "Mode": mode})
    assert codec.decode(codec.encode({**EXT, "Mode": "INVALID"}))["Mode"] == 7  # numbers out
    with pytest.raises(EncodeRangeError, match="FAULT, INVALID, OFF, ON"):
        codec.encode({**EXT, "Mode": "BROKEN"})
    with pytest.raises(EncodeRangeError):
        codec.encode({**EXT, "Mode": 6})  # neither in range nor in the table


def test_missing_signal_is_named_and_extra_keys_are_ignored() -> None:
    codec = Codec(NTEC5).message("EcuFast")
    values = dict(ECU_FAST)
    del values["SparkAdvance"]
    with pytest.raises(MissingSignalError, match="SparkAdvance") as info:
        codec.encode(values)
    assert isinstance(info.value, KeyError)
    assert codec.encode({**ECU_FAST, "EngineSpeed": 1e9, "Other": "x"}) == codec.encode(ECU_FAST)


def test_unused_bits_are_zero() -> None:
    codec = Codec(NTEC5).message("PlantTemps")  # bits 12..15 are unused
    frame = codec.encode({"PlantTemps_CRC": 255, "PlantTemps_Counter": 15, "CoolantTemp": 215,
                          "OilTemp": 215, "IntakeAirTemp": 215, "ExhaustGasTemp": 1400,
                          "TurboSpeed": 409500})
    assert frame[1] == 0x0F


def test_payload_length() -> None:
    codec = Codec(NTEC5).message("EcuFast")
    frame = codec.encode(ECU_FAST)
    with pytest.raises(FrameLengthError, match="EcuFast"):
        codec.decode(frame[:4])
    with pytest.raises(FrameLengthError):
        codec.decode_into(frame[:4], {})
    assert codec.decode(frame + b"\xff\xff") == codec.decode(frame)  # excess ignored
    assert codec.decode(bytearray(frame)) == codec.decode(frame)


def test_message_lookup_by_name_and_frame_id() -> None:
    codec = Codec(FEATURES)
    assert codec.message(0x18FEF1FE).name == "J1939Like"
    assert codec.message("J1939Like").is_extended_frame
    assert codec.get(0x7FF) is None
    with pytest.raises(KeyError, match="ExtStatus"):
        codec.message("NoSuchMessage")
    assert codec.message("EcuFast" if False else "Mux").signal_names[0] == "Sel"


def test_multiplexed_message_uses_cantools_transparently() -> None:
    codec = Codec(FEATURES, out_of_range="saturate").message("Mux")
    cantools_msg = FEATURES.get_message_by_name("Mux")
    assert not codec.compiled
    values = {"Sel": 0, "A0": 9999.0, "B0": -5, "A1": 7, "Common": 3}
    frame = codec.encode(values)
    assert frame == cantools_msg.encode({"Sel": 0, "A0": 6553.5, "B0": -5, "Common": 3})
    assert codec.saturation_counts["A0"] == 1
    target: dict[str, float] = {}
    codec.decode_into(frame, target)
    assert target == cantools_msg.decode(frame, decode_choices=False)
    with pytest.raises(MissingSignalError, match="Common"):
        codec.encode({"Sel": 1, "A1": 7})


def test_names_that_are_not_identifiers_take_the_cantools_path() -> None:
    # The DBC grammar forbids such names, but a Database built in code could carry one:
    # it must never reach generated source.
    signal = Signal("bad'] + __import__('os').getpid() + ['", start=0, length=8,
                    minimum=0, maximum=255)
    message = Message(0x10, "Odd", 1, [signal])
    db = cantools.database.Database([message])
    codec = Codec(db).message("Odd")
    assert not codec.compiled
    assert codec.encode({signal.name: 5}) == b"\x05"
    assert codec.decode(b"\x07") == {signal.name: 7}


def test_generated_source_holds_only_numbers_and_checked_names() -> None:
    codec = Codec(NTEC5).message("PlantSlow")
    assert isinstance(codec, MessageCodec) and codec.compiled
    assert "'LongitudinalAccel'" in codec.source and "import" not in codec.source
