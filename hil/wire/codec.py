"""The bench's DBC codec: physical signal values <-> CAN payload bytes, per message, fast.

Every frame of every SIL step goes through here (sensor frames out of the plant node,
actuator frames out of the ECU runtime, the trace decoding lazily), so the per-message
encoder and decoder are compiled ONCE when the :class:`Codec` is built (the description
stays cantools', the codec is separate). For each message we generate straight-line Python
(``int.from_bytes``, shifts, masks, scale/offset, sign extension, ``struct`` for IEEE
floats) and ``compile`` it.

Safety of the generated source: it is generated from the DBC's *numbers* only. The only
things embedded are ``repr()`` of ``int``/``float`` literals taken from the cantools
description (finite, type-checked) and ``repr()``-quoted signal names that match
``_IDENTIFIER``. Nothing a user writes as an expression ever reaches ``compile``. Messages
the generator does not cover (multiplexed, container, odd float lengths, unusual names or
numbers) silently use cantools instead, behind the same :class:`MessageCodec` interface.

Equivalence contract (checked by tests/wire with hypothesis): for in-range values,
``encode`` is byte-for-byte ``cantools Message.encode(values, scaling=True, strict=True)``
(same rounding: the very same Python expressions cantools' conversions use) and ``decode``
equals ``Message.decode(data, decode_choices=False)`` float for float. Differences, on
purpose: extra keys in ``values`` are ignored (the ECU encodes from its whole signal dict);
a range violation raises :class:`~hil.errors.EncodeRangeError` (or saturates and counts);
NaN is always rejected.

Edges (issue 12), in both modes unless said otherwise; the error is one line naming message,
signal, value and range:

- an IEEE float32 signal: ``±inf`` encodes as ``±inf`` (as cantools); a finite value beyond
  float32's range (``|x| > 3.4028235e38``), inside the DBC range or without one, raises in
  "error" mode (cantools would silently send ``±inf``) and saturates to ``±3.4028235e38``
  in "saturate" mode; a DBC bound beyond float32 saturates to float32's largest value;
- an integer signal without a DBC range: ``±inf`` raises in "error" mode (cantools:
  ``cannot convert float infinity to integer``) and saturates to the field's end in
  "saturate" mode, like any value whose raw value does not fit the field.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, cast

from cantools.database.can import Database, Message, Signal
from cantools.database.errors import EncodeError

from hil.errors import EncodeRangeError, HilError

__all__ = [
    "Codec",
    "MessageCodec",
    "MissingSignalError",
    "FrameLengthError",
    "OutOfRange",
]

OutOfRange = Literal["error", "saturate"]

# Signal names go into generated source as repr()-quoted dict keys; only plain identifiers
# (what the DBC grammar allows anyway) are accepted, anything else takes the cantools path.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Largest finite float32.
FLOAT32_MAX = 3.4028234663852886e38
_INF = math.inf


class MissingSignalError(HilError, KeyError):
    """``encode`` was not given a value for a signal of the message.

    (Belongs in hil/errors.py; kept here until that shared module is changed.)
    """


class FrameLengthError(HilError, ValueError):
    """A payload is shorter than its message's DLC, so it cannot be decoded."""


def _lit(value: Any) -> str:
    """A numeric literal for generated source; anything else is refused."""
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _NotCompilable(f"non-numeric or non-finite constant {value!r}")
    return repr(value)


class _NotCompilable(Exception):
    """Internal: this message takes the cantools path."""


class _SignalRule:
    """Range policy of one signal: what happens when a value is outside the DBC [min|max].

    Shared by the compiled path (called only when the inline check fails, so never on the
    hot path) and by the cantools fallback path.
    """

    def __init__(self, message: Message, signal: Signal, mode: OutOfRange,
                 counts: dict[str, int]) -> None:
        self.message_name = message.name
        self.signal = signal
        self.name = signal.name
        self.mode = mode
        self.counts = counts
        conv = signal.conversion
        self.conversion = conv
        self.choices = dict(conv.choices) if conv.choices else {}
        self.by_choice_name = {str(text): raw for raw, text in self.choices.items()}
        # cantools accepts values a hair outside the range (scale * 1e-6); so do we, with the
        # very same float computation, so the accepted set is identical.
        tol = abs(conv.scale) * 1e-6
        self.minimum = signal.minimum
        self.maximum = signal.maximum
        self.low = None if signal.minimum is None else signal.minimum - tol
        self.high = None if signal.maximum is None else signal.maximum + tol
        # Raw field range (two's complement for signed integers); None for a float field.
        self.raw_range: tuple[int, int] | None
        if conv.is_float:
            self.raw_range = None
        elif signal.is_signed:
            self.raw_range = (-(1 << (signal.length - 1)), (1 << (signal.length - 1)) - 1)
        else:
            self.raw_range = (0, (1 << signal.length) - 1)
        self.raw_min: int | None = None if self.raw_range is None else self.raw_range[0]
        self.raw_max: int | None = None if self.raw_range is None else self.raw_range[1]
        # Saturation targets: the DBC bounds, or the nearest representable value when the
        # DBC declares a range wider than the field (so a clamp never needs a second clamp).
        self.sat_min = self._representable(self.minimum)
        self.sat_max = self._representable(self.maximum)

    def _fits(self, raw: int | float) -> bool:
        rr = self.raw_range
        return rr is None or rr[0] <= raw <= rr[1]

    def _int_range(self) -> tuple[int, int]:
        rr = self.raw_range
        assert rr is not None, "only integer fields have a raw range to clamp to"
        return rr

    def _physical(self, raw: float) -> float:
        # decode_choices=False: a number, never a choice name
        return cast(float, self.conversion.raw_to_scaled(raw, decode_choices=False))

    @property
    def is_float32(self) -> bool:
        return bool(self.conversion.is_float) and self.signal.length == 32

    def _representable(self, bound: float | None) -> float | None:
        if bound is not None and self.is_float32:
            raw = self.conversion.numeric_scaled_to_raw(bound)
            if abs(raw) > FLOAT32_MAX:
                return self._physical(math.copysign(FLOAT32_MAX, raw))
            return bound
        if bound is None or self.raw_range is None:
            return bound
        raw = self.conversion.numeric_scaled_to_raw(bound)
        if self._fits(raw):
            return bound
        lo, hi = self.raw_range
        return self._physical(hi if raw > hi else lo)

    @property
    def range_fits_field(self) -> bool:
        """True when every value inside the (tolerant) DBC range has a raw value that fits
        the bit field: then the compiled encoder needs no raw check (round is monotone)."""
        if self.raw_min is None:
            return True
        if self.low is None or self.high is None:
            return False
        conv = self.conversion
        return self._fits(conv.numeric_scaled_to_raw(self.low)) and self._fits(
            conv.numeric_scaled_to_raw(self.high))

    def _range_text(self) -> str:
        unit = f" {self.signal.unit}" if self.signal.unit else ""
        if self.minimum is None and self.maximum is None:
            return "none in the DBC"
        return f"[{self.minimum}|{self.maximum}]{unit}"

    def out_of_range(self, value: Any) -> Any:
        """Called when ``value`` failed the inline range check: raise, or return the
        value to encode instead."""
        if isinstance(value, float) and math.isnan(value):
            raise EncodeRangeError(
                f"{self.message_name}.{self.name}: value nan cannot be encoded "
                f"(range {self._range_text()})")
        if self.choices:
            # cantools skips the range check for values of the value table.
            try:
                if self.conversion.numeric_scaled_to_raw(value) in self.choices:
                    return value
            except (TypeError, ValueError, OverflowError):
                pass
        below = (value < self.low) if self.low is not None else value == -_INF
        if self.mode == "error":
            if self.low is None and self.high is None or (
                    not below and self.high is None) or (below and self.low is None):
                raise EncodeRangeError(
                    f"{self.message_name}.{self.name}: value {value!r} cannot be encoded in "
                    f"the {self.signal.length}-bit integer field (raw [{self.raw_min}|"
                    f"{self.raw_max}]; DBC range {self._range_text()})")
            raise EncodeRangeError(
                f"{self.message_name}.{self.name}: value {value!r} outside range "
                f"{self._range_text()}")
        self.counts[self.name] += 1
        bound = self.sat_min if below else self.sat_max
        if bound is None:  # no DBC bound on that side (an infinity): the end of the field
            lo, hi = self._int_range()
            return self._physical(lo if below else hi)
        return bound

    def float_out_of_range(self, raw: float, value: Any) -> float:
        """A float32 raw value beyond float32's finite range: ±inf as is (cantools
        encodes it), a finite one raises or saturates to ±FLOAT32_MAX."""
        if raw in (_INF, -_INF):
            return raw
        if self.mode == "error":
            raise EncodeRangeError(
                f"{self.message_name}.{self.name}: value {value!r} does not fit the IEEE "
                f"float32 field (largest {FLOAT32_MAX:.8g}; DBC range {self._range_text()})")
        self.counts[self.name] += 1
        return math.copysign(FLOAT32_MAX, raw)

    def raw_out_of_range(self, raw: float, value: Any) -> int:
        """The raw value does not fit the bit field (DBC range wider than the field, or no
        DBC range at all): raise, or clamp to the field."""
        if self.mode == "error":
            raise EncodeRangeError(
                f"{self.message_name}.{self.name}: value {value!r} does not fit the "
                f"{self.signal.length}-bit field (raw {raw} outside "
                f"[{self.raw_min}|{self.raw_max}]; DBC range {self._range_text()})")
        self.counts[self.name] += 1
        lo, hi = self._int_range()
        return lo if raw < lo else hi

    def choice(self, text: str) -> int:
        try:
            raw = self.by_choice_name[text]
        except KeyError:
            raise EncodeRangeError(
                f"{self.message_name}.{self.name}: {text!r} is not a value of its value "
                f"table ({', '.join(sorted(self.by_choice_name))})") from None
        if not self._fits(raw):
            return self.raw_out_of_range(raw, text)
        return raw

    def check(self, value: Any) -> Any:
        """The whole policy in plain Python (fallback path): value to hand to cantools."""
        if isinstance(value, str):
            self.choice(value)  # validates the name; cantools converts it itself
            return value
        if (self.low is not None and not value >= self.low) or (
                self.high is not None and not value <= self.high) or (
                isinstance(value, float) and math.isnan(value)):
            value = self.out_of_range(value)
        if self.raw_min is not None:
            if value in (_INF, -_INF):  # no DBC bound on that side
                value = self.out_of_range(value)
            raw = self.conversion.numeric_scaled_to_raw(value)
            if not self._fits(raw):
                fixed = self.raw_out_of_range(raw, value)
                value = self._physical(fixed)
        elif self.is_float32:
            raw = self.conversion.numeric_scaled_to_raw(value)
            if not -FLOAT32_MAX <= raw <= FLOAT32_MAX:
                clamped = self.float_out_of_range(raw, value)
                if clamped != raw:
                    value = self.conversion.raw_to_scaled(clamped, decode_choices=False)
        return value


class MessageCodec:
    """Encoder/decoder of one DBC message.

    ``encode``, ``decode`` and ``decode_into`` are instance attributes bound to the compiled
    functions (no method-call layer on the hot path).
    """

    name: str
    frame_id: int
    is_extended_frame: bool
    length: int
    signal_names: tuple[str, ...]
    compiled: bool
    source: str
    saturation_counts: dict[str, int]
    encode: Callable[[Mapping[str, Any]], bytes]
    decode: Callable[[bytes], dict[str, float]]
    decode_into: Callable[[bytes, dict[str, float]], None]

    def __init__(self, message: Message, out_of_range: OutOfRange = "error") -> None:
        if out_of_range not in ("error", "saturate"):
            raise ValueError(f"out_of_range must be 'error' or 'saturate', not {out_of_range!r}")
        self.message = message
        self.name = message.name
        self.frame_id = message.frame_id
        self.is_extended_frame = message.is_extended_frame
        self.length = message.length
        self.signal_names = tuple(signal.name for signal in message.signals)
        self.out_of_range = out_of_range
        self.saturation_counts = dict.fromkeys(self.signal_names, 0)
        self._rules = {signal.name: _SignalRule(message, signal, out_of_range,
                                                self.saturation_counts)
                       for signal in message.signals}
        self._payload_encoders: dict[frozenset[str], Callable[[Mapping[str, Any]], bytes]] = {}
        try:
            _check_compilable(message)
            self.encode = self._compile_encoder(message.signals, "encode")
            self.decode, self.decode_into = self._compile_decoders()
            self.compiled = True
        except _NotCompilable as why:
            self.source = f"# cantools path: {why}\n"
            self.encode = self._fallback_encode
            self.decode = self._fallback_decode
            self.decode_into = self._fallback_decode_into
            self.compiled = False

    def __repr__(self) -> str:
        path = "compiled" if self.compiled else "cantools"
        return f"<MessageCodec {self.name} 0x{self.frame_id:X} [{self.length}] {path}>"

    def payload_encoder(self, exclude: Iterable[str]) -> Callable[[Mapping[str, Any]], bytes]:
        """An encoder that leaves the ``exclude`` signals' bits at 0 and does not need their
        values (E2E: the CRC and counter are filled in afterwards). Compiled once per set."""
        key = frozenset(exclude)
        unknown = key - set(self.signal_names)
        if unknown:
            raise KeyError(f"{self.name} has no signal(s) {sorted(unknown)}")
        encoder = self._payload_encoders.get(key)
        if encoder is None:
            if self.compiled:
                kept = [s for s in self.message.signals if s.name not in key]
                encoder = self._compile_encoder(kept, "encode_payload", keep_source=False)
            else:
                zeros = dict.fromkeys(key, 0)

                def encoder(values: Mapping[str, Any]) -> bytes:
                    return self._fallback_encode({**values, **zeros})
            self._payload_encoders[key] = encoder
        return encoder

    # --- code generation -------------------------------------------------------------

    def _compile_encoder(self, signals: list[Signal], fname: str,
                         keep_source: bool = True) -> Callable[[Mapping[str, Any]], bytes]:
        nbits = self.length * 8
        namespace: dict[str, Any] = {"_missing": self._missing, "_INF": _INF,
                                     "_F32": struct.Struct("<f").pack,
                                     "_F64": struct.Struct("<d").pack, "_from": int.from_bytes}
        lines = [f"def {fname}(values):"]
        if signals:
            lines.append("    try:")
            lines += [f"        v{i} = values[{_key(s.name)}]" for i, s in enumerate(signals)]
            lines.append("    except KeyError as exc:")
            lines.append("        raise _missing(exc) from None")
        le_terms: list[str] = []
        be_terms: list[str] = []
        for i, signal in enumerate(signals):
            rule = self._rules[signal.name]
            conv = signal.conversion
            v, r = f"v{i}", f"r{i}"
            namespace[f"_rule{i}"] = rule
            body: list[str] = []  # statements computing r{i} from v{i}, indented 4
            # -- physical range check: one chained compare, slow path out of line.
            if rule.low is not None and rule.high is not None:
                cond = f"not ({_lit(rule.low)} <= {v} <= {_lit(rule.high)})"
            elif rule.low is not None:
                cond = f"not ({v} >= {_lit(rule.low)})"
            elif rule.high is not None:
                cond = f"not ({v} <= {_lit(rule.high)})"
            elif conv.is_float:
                cond = f"{v} != {v}"  # NaN only (±inf is a float value)
            else:
                cond = f"not (-_INF < {v} < _INF)"  # NaN and ±inf: no integer for them
            if not conv.is_float and (rule.low is None) != (rule.high is None):
                cond += f" or {v} in (_INF, -_INF)"  # the side without a bound
            body.append(f"if {cond}: {v} = _rule{i}.out_of_range({v})")
            # -- physical -> raw, the same expressions as cantools' conversion classes.
            body += _scaled_to_raw(conv, v, r)
            if not conv.is_float and not rule.range_fits_field:
                body.append(f"if not ({rule.raw_min} <= {r} <= {rule.raw_max}): "
                            f"{r} = _rule{i}.raw_out_of_range({r}, {v})")
            if rule.is_float32:
                body.append(f"if not ({_lit(-FLOAT32_MAX)} <= {r} <= {_lit(FLOAT32_MAX)}): "
                            f"{r} = _rule{i}.float_out_of_range({r}, {v})")
            if rule.choices:
                lines.append(f"    if {v}.__class__ is str: {r} = _rule{i}.choice({v})")
                lines.append("    else:")
                lines += ["        " + stmt for stmt in body]
            else:
                lines += ["    " + stmt for stmt in body]
            # -- raw -> field bits.
            if conv.is_float:
                pack = "_F32" if signal.length == 32 else "_F64"
                bits = f"_from({pack}({r}), 'little')"
            elif signal.is_signed:
                bits = f"({r} & {_lit((1 << signal.length) - 1)})"
            else:
                bits = r
            if signal.byte_order == "little_endian":
                shift = signal.start
                le_terms.append(f"({bits} << {shift})" if shift else bits)
            else:
                shift = nbits - _network_start(signal) - signal.length
                be_terms.append(f"({bits} << {shift})" if shift else bits)
        if not le_terms and not be_terms:
            lines.append(f"    return {bytes(self.length)!r}")
        elif not be_terms:
            lines.append(f"    return ({' | '.join(le_terms)}).to_bytes({self.length}, 'little')")
        elif not le_terms:
            lines.append(f"    return ({' | '.join(be_terms)}).to_bytes({self.length}, 'big')")
        else:
            # Mixed byte orders: lay the Motorola fields out big-endian, then view that
            # integer little-endian so both sets can be OR-ed.
            lines.append(f"    be = ({' | '.join(be_terms)}).to_bytes({self.length}, 'big')")
            lines.append(f"    return ({' | '.join(le_terms)} | _from(be, 'little'))"
                         f".to_bytes({self.length}, 'little')")
        source = "\n".join(lines) + "\n"
        if keep_source:
            self.source = source
        else:
            self.source += "\n" + source
        return _compile(source, fname, namespace, self.name)

    def _compile_decoders(self) -> tuple[Callable[[bytes], dict[str, float]],
                                         Callable[[bytes, dict[str, float]], None]]:
        length = self.length
        nbits = length * 8
        namespace: dict[str, Any] = {"_fit": self._fit_length, "_from": int.from_bytes}
        exprs: list[tuple[str, str]] = []
        need_le = need_be = False
        for i, signal in enumerate(self.message.signals):
            conv = signal.conversion
            if signal.byte_order == "little_endian":
                word, shift = "x", signal.start
                aligned = signal.start % 8 == 0
                offset = signal.start // 8
                fmt = "<"
            else:
                word, shift = "y", nbits - _network_start(signal) - signal.length
                aligned = _network_start(signal) % 8 == 0
                offset = _network_start(signal) // 8
                fmt = ">"
            mask = (1 << signal.length) - 1
            if conv.is_float:
                ftype = "f" if signal.length == 32 else "d"
                if aligned:
                    # Byte-aligned IEEE value: unpack straight from the payload.
                    namespace[f"_U{i}"] = struct.Struct(fmt + ftype).unpack_from
                    raw = f"_U{i}(data, {offset})[0]"
                else:
                    namespace[f"_U{i}"] = struct.Struct("<" + ftype).unpack
                    raw = f"_U{i}(({word} >> {shift} & {mask}).to_bytes({signal.length // 8}, 'little'))[0]"
                    need_le |= word == "x"
                    need_be |= word == "y"
            else:
                need_le |= word == "x"
                need_be |= word == "y"
                raw = f"({word} >> {shift} & {_lit(mask)})" if shift else f"({word} & {_lit(mask)})"
                if signal.is_signed:
                    sign = 1 << (signal.length - 1)
                    raw = f"(({raw} ^ {sign}) - {sign})"
            exprs.append((signal.name, _raw_to_scaled(conv, raw)))
        prologue = [f"    if len(data) != {length}: data = _fit(data)"]
        if need_le:
            prologue.append("    x = _from(data, 'little')")
        if need_be:
            prologue.append("    y = _from(data, 'big')")
        dec = ["def decode(data):", *prologue, "    return {"]
        dec += [f"        {_key(name)}: {expr}," for name, expr in exprs]
        dec.append("    }")
        into = ["def decode_into(data, t):", *prologue]
        into += [f"    t[{_key(name)}] = {expr}" for name, expr in exprs]
        if not exprs:
            into.append("    return None")
        dec_source = "\n".join(dec) + "\n"
        into_source = "\n".join(into) + "\n"
        self.source += "\n" + dec_source + "\n" + into_source
        decode = _compile(dec_source, "decode", namespace, self.name)
        decode_into = _compile(into_source, "decode_into", namespace, self.name)
        return decode, decode_into

    # --- shared slow paths -----------------------------------------------------------

    def _missing(self, exc: KeyError) -> MissingSignalError:
        name = exc.args[0] if exc.args else "?"
        return MissingSignalError(f"{self.name}: no value for signal {name!r} to encode")

    def _fit_length(self, data: bytes) -> bytes:
        # Like cantools: excess bytes are ignored, a short payload is an error.
        if len(data) > self.length:
            return bytes(data[:self.length])
        raise FrameLengthError(
            f"{self.name}: payload of {len(data)} bytes, expected {self.length}")

    # --- cantools path (multiplexed and other uncompiled messages) --------------------

    def _fallback_encode(self, values: Mapping[str, Any]) -> bytes:
        message = self.message
        try:
            needed = message.gather_signals(values)
        except EncodeError as exc:
            match = re.search(r'signal "(\w+)" is required', str(exc))
            if match:
                raise MissingSignalError(
                    f"{self.name}: no value for signal {match.group(1)!r} to encode") from None
            raise
        for name, value in needed.items():
            needed[name] = self._rules[name].check(value)
        return message.encode(needed, scaling=True, strict=False)

    def _fallback_decode(self, data: bytes) -> dict[str, float]:
        if len(data) < self.length:
            self._fit_length(data)
        # not a container message, and decode_choices=False: a dict of numbers
        return cast("dict[str, float]", self.message.decode(bytes(data), decode_choices=False))

    def _fallback_decode_into(self, data: bytes, target: dict[str, float]) -> None:
        target.update(self._fallback_decode(data))


class Codec:
    """All messages of a DBC, each compiled once at construction.

    ``out_of_range``: "error" raises :class:`EncodeRangeError` for a value outside the DBC
    range; "saturate" clamps it to the range and counts it in the message codec's
    ``saturation_counts``.
    """

    def __init__(self, db: Database, out_of_range: OutOfRange = "error") -> None:
        self.db = db
        self.out_of_range = out_of_range
        self.messages: tuple[MessageCodec, ...] = tuple(
            MessageCodec(message, out_of_range) for message in db.messages)
        self.by_name: dict[str, MessageCodec] = {m.name: m for m in self.messages}
        self.by_frame_id: dict[int, MessageCodec] = {m.frame_id: m for m in self.messages}

    def message(self, name_or_frame_id: str | int) -> MessageCodec:
        try:
            if isinstance(name_or_frame_id, str):
                return self.by_name[name_or_frame_id]
            return self.by_frame_id[name_or_frame_id]
        except KeyError:
            known = ", ".join(sorted(self.by_name))
            what = (repr(name_or_frame_id) if isinstance(name_or_frame_id, str)
                    else f"frame id 0x{name_or_frame_id:X}")
            raise KeyError(f"no message {what} in the DBC (known: {known})") from None

    def get(self, frame_id: int) -> MessageCodec | None:
        """The codec of a received frame id, or None for frames not in the DBC."""
        return self.by_frame_id.get(frame_id)

    def __iter__(self) -> Iterator[MessageCodec]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)


# --- generator helpers ---------------------------------------------------------------

def _key(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise _NotCompilable(f"signal name {name!r} is not an identifier")
    return repr(name)


def _network_start(signal: Signal) -> int:
    """Motorola start bit in network order (bit 0 = MSB of byte 0), as cantools computes."""
    return 8 * (signal.start // 8) + (7 - (signal.start % 8))


def _check_compilable(message: Message) -> None:
    if message.is_container:
        raise _NotCompilable("container message")
    if message.is_multiplexed():
        raise _NotCompilable("multiplexed message")
    for signal in message.signals:
        _key(signal.name)
        conv = signal.conversion
        _lit(conv.scale)
        _lit(conv.offset)
        if conv.scale == 0:
            raise _NotCompilable(f"signal {signal.name} has scale 0")
        if conv.is_float and signal.length not in (32, 64):
            raise _NotCompilable(f"float signal {signal.name} of {signal.length} bits")
        if signal.length < 1:
            raise _NotCompilable(f"signal {signal.name} of {signal.length} bits")
        for bound in (signal.minimum, signal.maximum):
            if bound is not None:
                _lit(bound)
        if conv.choices:
            for raw in conv.choices:
                if type(raw) is not int:
                    raise _NotCompilable(f"signal {signal.name}: value table key {raw!r}")


def _is_linear_integer(conv: Any) -> bool:
    """cantools' factory picks LinearIntegerConversion for integral scale and offset."""
    return (not conv.is_float and float(conv.scale).is_integer()
            and float(conv.offset).is_integer())


def _scaled_to_raw(conv: Any, v: str, r: str) -> list[str]:
    """Statements setting ``r`` from ``v`` exactly as cantools' ``numeric_scaled_to_raw``
    does, operation for operation (so rounding, int/float types and ties agree)."""
    scale, offset = conv.scale, conv.offset
    if scale == 1 and offset == 0:  # IdentityConversion (also inside a NamedSignalConversion)
        return [f"{r} = {v}" if conv.is_float else f"{r} = round({v})"]
    if _is_linear_integer(conv):
        # LinearIntegerConversion: int(scale), int(offset), divmod to keep precision.
        s, o = int(scale), int(offset)
        diff = f"({v} - {o})" if o else v
        if s == 1:
            return [f"{r} = round({diff})"]  # divmod by 1 is exact: same result
        return [f"{r} = {diff}",
                f"q, m = divmod({r}, {s})",
                f"{r} = round(q if m == 0 else {r} / {s})"]
    diff = f"({v} - {_lit(offset)})" if offset else v
    expr = f"{diff} / {_lit(scale)}"
    return [f"{r} = {expr}" if conv.is_float else f"{r} = round({expr})"]


def _raw_to_scaled(conv: Any, raw: str) -> str:
    """cantools' ``raw_to_scaled(raw, decode_choices=False)`` as an expression."""
    scale, offset = conv.scale, conv.offset
    if scale == 1 and offset == 0:
        return raw
    if _is_linear_integer(conv):
        # Integer arithmetic: dropping "* 1" and "+ 0" cannot change the result.
        s, o = int(scale), int(offset)
        expr = raw if s == 1 else f"{raw} * {s}"
        return f"{expr} + {o}" if o else expr
    expr = f"{raw} * {_lit(scale)}"
    # "+ 0" only matters when the product can be -0.0 (float raw or negative scale).
    if offset or conv.is_float or scale < 0:
        expr = f"{expr} + {_lit(offset)}"
    return expr


def _compile(source: str, fname: str, namespace: dict[str, Any], message: str) -> Any:
    code = compile(source, f"<hil.wire.codec {message}.{fname}>", "exec")
    exec(code, namespace)  # noqa: S102 - source generated from DBC numbers, see module doc
    return namespace[fname]
