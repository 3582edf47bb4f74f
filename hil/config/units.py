"""Quantities with units in configuration: times ("1 ms", "250 us", "2.5 s").

The bench's clock counts integer nanoseconds; every time a user writes is
converted here, exactly, to ticks.
"""

from __future__ import annotations

import re

NS_PER_S = 1_000_000_000
#: Longest time any configuration may name (a scenario's duration, a step time, a bound):
#: 24 h of simulated time. Longer is refused with a one-line error, not run until killed.
MAX_TIME_NS = 24 * 3600 * NS_PER_S
_MAX_TIME_CHARS = 40  # "123456789.123456789e-3 ms" fits; 10,000 digits do not

_TIME_UNITS = {
    "ns": 1,
    "us": 1_000, "µs": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_S,
    "min": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
}
_TIME_RE = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zµ]+)\s*$")


class UnitError(ValueError):
    """A quantity has no unit, an unknown unit, or is not a number."""


def parse_time_ns(value: object, *, allow_negative: bool = False) -> int:
    """'2.5 s' -> 2_500_000_000. A bare number is refused: say the unit."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise UnitError(f"expected a time with a unit such as '10 ms', got {_short(value)}")
    if len(value) > _MAX_TIME_CHARS:
        raise UnitError(f"expected a time with a unit such as '10 ms', got {_short(value)} "
                        f"(longer than {_MAX_TIME_CHARS} characters)")
    match = _TIME_RE.match(value)
    if not match:
        raise UnitError(f"expected a time with a unit such as '10 ms', got {value!r}")
    number, unit = match.groups()
    if unit not in _TIME_UNITS:
        raise UnitError(f"unknown time unit {unit!r} in {value!r}; "
                        f"use one of ns, us, ms, s, min, h")
    mantissa, _, exponent = number.lower().partition("e")
    if exponent and abs(int(exponent)) > 30:  # 1e9999999 s: refuse before computing it
        raise UnitError(f"{value!r} is beyond the longest time allowed "
                        "(24 h)" if not exponent.startswith("-")
                        else f"{value!r} is finer than the 1 ns clock resolution")
    # Exact in integers: digits * unit * 10**shift (no float, no Fraction).
    whole, _, frac = mantissa.partition(".")
    shift = (int(exponent) if exponent else 0) - len(frac)
    numerator = int(whole + frac) * _TIME_UNITS[unit] * 10 ** max(shift, 0)
    ns, rest = divmod(numerator, 10 ** max(-shift, 0))
    if abs(ns) > MAX_TIME_NS or ns == MAX_TIME_NS and rest:
        raise UnitError(f"{value!r} is beyond the longest time allowed "
                        "(24 h)")
    if rest:
        raise UnitError(f"{value!r} is finer than the 1 ns clock resolution")
    if ns < 0 and not allow_negative:
        raise UnitError(f"time must not be negative: {value!r}")
    return ns


def _short(value: object) -> str:
    from hil.config.yamlio import excerpt  # yamlio imports nothing from here

    return excerpt(value, 40)


def format_time_ns(ns: int) -> str:
    """Human-readable time for reports: picks the unit that reads best."""
    a = abs(ns)
    if a >= NS_PER_S:
        return f"{ns / NS_PER_S:.6g} s"
    if a >= 1_000_000:
        return f"{ns / 1_000_000:.6g} ms"
    if a >= 1_000:
        return f"{ns / 1_000:.6g} us"
    return f"{ns} ns"
