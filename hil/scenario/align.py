"""Sample-and-hold alignment of several trace series onto one time base.

Expectations combine signals that arrive at different rates (a 1 ms PlantFast frame, a
10 ms EcuStatus frame, plant quantities every step). Each series holds its last value until
its next sample, which is what a receiver on the bus sees. The union of all sample times is
the time base: the condition can only change at one of those instants, so evaluating it
there is exact, and no interpolation invents values that were never on the bus.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

__all__ = ["align", "hold", "SignalSource"]


class SignalSource(Protocol):
    """What alignment needs of a trace (docs/trace-api.md)."""

    def signal(self, name: str) -> Any: ...


def hold(t_ns: np.ndarray, values: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Values of the series (t_ns, values) held at the instants ``at_ns``; NaN before the
    first sample. When a series has several samples at one instant, the last one wins."""
    at_ns = np.asarray(at_ns, dtype=np.int64)
    idx = np.searchsorted(t_ns, at_ns, side="right") - 1
    if len(values) == 0:
        return np.full(at_ns.shape, np.nan)
    out = np.asarray(values, dtype=np.float64)[np.clip(idx, 0, None)]
    return np.where(idx >= 0, out, np.nan)


def align(trace: SignalSource, names: Iterable[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sample-and-hold the series of ``names`` onto the union of their sample times.

    Returns ``(t_ns, {name: values})``: ``t_ns`` sorted, unique int64; every value array as
    long as ``t_ns``. Before a series' first sample its value is NaN, so comparisons with it
    are False there.
    """
    series = {name: trace.signal(name) for name in dict.fromkeys(names)}
    if not series:
        return np.zeros(0, dtype=np.int64), {}
    t_ns = np.unique(np.concatenate([np.asarray(s.t_ns, dtype=np.int64)
                                     for s in series.values()]))
    return t_ns, {name: hold(np.asarray(s.t_ns, dtype=np.int64), s.values, t_ns)
                  for name, s in series.items()}
