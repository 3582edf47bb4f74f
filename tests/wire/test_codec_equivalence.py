"""The compiled codec against cantools, byte for byte and float for float, for every
message of the bench DBC and of the layout/feature test DBCs."""

from __future__ import annotations

from typing import Any

import pytest
from cantools.database.can import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.errors import EncodeRangeError
from hil.wire.codec import Codec, MessageCodec
from hil.wire.dbc import load_dbc

from .strategies import DBC_PATHS, message_values, same_dict

DBS = {key: load_dbc(path) for key, path in DBC_PATHS.items()}
CODECS = {key: Codec(db) for key, db in DBS.items()}
CASES = [(key, message.name) for key, db in DBS.items() for message in db.messages]
IDS = [f"{key}.{name}" for key, name in CASES]


def pair(key: str, name: str) -> tuple[Message, MessageCodec]:
    return DBS[key].get_message_by_name(name), CODECS[key].message(name)


def test_only_multiplexed_messages_take_the_cantools_path() -> None:
    for key, name in CASES:
        message, codec = pair(key, name)
        assert codec.compiled == (not message.is_multiplexed()), (key, name)
    assert all(codec.compiled for codec in CODECS["ntec5"])


@pytest.mark.parametrize(("key", "name"), CASES, ids=IDS)
def test_encode_matches_cantools(key: str, name: str) -> None:
    message, codec = pair(key, name)

    @settings(max_examples=400, deadline=None)
    @given(values=message_values(message))
    def check(values: dict[str, Any]) -> None:
        try:
            expected: bytes | Exception = message.encode(
                message.gather_signals(values), scaling=True, strict=True)
        except Exception as exc:  # noqa: BLE001 - any refusal by cantools
            expected = exc
        if isinstance(expected, bytes):
            assert codec.encode(values) == expected
        else:
            # cantools refuses (range check or the raw value does not fit the field):
            # we must refuse too, with our one-line range error.
            with pytest.raises(EncodeRangeError):
                codec.encode(values)

    check()


@pytest.mark.parametrize(("key", "name"), CASES, ids=IDS)
def test_decode_matches_cantools(key: str, name: str) -> None:
    message, codec = pair(key, name)

    @settings(max_examples=300, deadline=None)
    @given(data=st.binary(min_size=message.length, max_size=message.length + 2))
    def check(data: bytes) -> None:
        try:
            expected = message.decode(data, decode_choices=False)
        except Exception:  # noqa: BLE001 - e.g. an undefined multiplexer value
            with pytest.raises(Exception):  # noqa: B017
                codec.decode(data)
            return
        assert same_dict(codec.decode(data), expected)
        target = {"Unrelated": 1.5}
        codec.decode_into(data, target)
        assert same_dict({k: v for k, v in target.items() if k != "Unrelated"}, expected)
        assert target["Unrelated"] == 1.5

    check()


@pytest.mark.parametrize(("key", "name"), CASES, ids=IDS)
def test_encoded_frames_decode_to_cantools_values(key: str, name: str) -> None:
    message, codec = pair(key, name)

    @settings(max_examples=150, deadline=None)
    @given(values=message_values(message))
    def check(values: dict[str, Any]) -> None:
        try:
            frame = codec.encode(values)
        except EncodeRangeError:
            return
        assert same_dict(codec.decode(frame), message.decode(frame, decode_choices=False))

    check()
