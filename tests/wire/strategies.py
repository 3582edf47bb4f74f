"""Hypothesis strategies and exact-comparison helpers shared by the codec tests."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cantools.database.can import Message, Signal
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"
DBC_PATHS = {
    "ntec5": ROOT / "dbc" / "ntec5.dbc",
    "layouts": FILES / "layouts.dbc",
    "features": FILES / "features.dbc",
}


def field_range(signal: Signal) -> tuple[int, int]:
    if signal.is_signed:
        return -(1 << (signal.length - 1)), (1 << (signal.length - 1)) - 1
    return 0, (1 << signal.length) - 1


def physical_range(signal: Signal) -> tuple[float, float]:
    """The DBC range, or the field's physical range where the DBC gives none."""
    conv = signal.conversion
    if signal.minimum is not None and signal.maximum is not None:
        return signal.minimum, signal.maximum
    a, b = (conv.raw_to_scaled(r, False) for r in field_range(signal))
    return min(a, b), max(a, b)


def signal_values(signal: Signal) -> st.SearchStrategy[Any]:
    """In-range values of every flavour plus a margin outside, so the range policy is
    exercised too: raw grid points, grid points +- fractions (rounding ties included),
    uniform floats, ints, and value-table names."""
    conv = signal.conversion
    lo, hi = physical_range(signal)
    if conv.is_float:
        width = 32 if signal.length == 32 else 64
        return st.one_of(
            st.floats(min_value=float(lo), max_value=float(hi), allow_nan=False),
            st.floats(min_value=lo, max_value=hi, allow_nan=False, width=width),
            st.integers(int(lo), int(hi)),
            st.sampled_from([lo, hi, 0.0, -0.0]).filter(lambda v: lo <= v <= hi),
        )
    rmin, rmax = field_range(signal)
    raw = st.integers(rmin, rmax)
    scale, offset = conv.scale, conv.offset
    margin = 3 * abs(scale)
    parts = [
        raw.map(lambda r: conv.raw_to_scaled(r, False)),
        st.tuples(raw, st.sampled_from([-0.5, 0.5, 0.25, -0.25, 0.4999999, 1e-9])
                  | st.floats(-0.5, 0.5)).map(lambda t: (t[0] + t[1]) * scale + offset),
        st.floats(min_value=float(lo - margin), max_value=float(hi + margin), allow_nan=False),
        st.integers(math.floor(lo) - 2, math.ceil(hi) + 2),
        st.sampled_from([lo, hi]),
    ]
    if conv.choices:
        parts.append(st.sampled_from(sorted(str(name) for name in conv.choices.values())))
        parts.append(st.sampled_from(sorted(conv.choices)))
    return st.one_of(parts)


def message_values(message: Message) -> st.SearchStrategy[dict[str, Any]]:
    selectors = {}
    for mux_name, nodes in message._codecs["multiplexers"].items():  # noqa: SLF001
        selectors[mux_name] = st.sampled_from(sorted(nodes))
    return st.fixed_dictionaries({
        signal.name: selectors.get(signal.name, signal_values(signal))
        for signal in message.signals})


def same_value(a: Any, b: Any) -> bool:
    """Exact equality: same type, same float bits up to NaN payloads, same zero sign."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def same_dict(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
