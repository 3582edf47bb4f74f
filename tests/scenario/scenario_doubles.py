"""Test doubles for the scenario tests: a trace made of hand-written arrays.

``FakeTrace`` implements only what expectations read of ``hil.trace.Trace``
(docs/trace-api.md): ``signal``, ``frames``, ``choices``, ``end_ns``, ``names``, ``has``.
It is a double, not a trace: no DBC, no decoding, no recording.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

MS = 1_000_000
US = 1_000
S = 1_000_000_000

ENGINE_MODES = {"NORMAL": 0.0, "DETUNED": 1.0, "LIMP": 2.0, "SHUTDOWN": 3.0}


@dataclass
class FakeSeries:
    name: str
    t_ns: np.ndarray
    values: np.ndarray
    unit: str = ""
    source: str = "frame"

    @property
    def t_s(self) -> np.ndarray:
        return self.t_ns / 1e9


@dataclass
class FakeFrames:
    t_end_ns: np.ndarray


class FakeTrace:
    """A trace double over arrays: ``signals`` maps name -> (t_ns, values)."""

    def __init__(self, signals: Mapping[str, tuple[Iterable[int], Iterable[float]]] = (),
                 *, frames: Mapping[str, Iterable[int]] = (),
                 choices: Mapping[str, Mapping[str, float]] = (), end_ns: int = 6 * S,
                 units: Mapping[str, str] = (),
                 limits: Mapping[str, tuple[float, float, float]] = ()) -> None:
        self._signals = {name: (np.asarray(list(t), dtype=np.int64),
                                np.asarray(list(v), dtype=np.float64))
                         for name, (t, v) in dict(signals).items()}
        self._frames = {m: np.asarray(list(t), dtype=np.int64) for m, t in dict(frames).items()}
        self._choices = dict(choices)
        self._units = dict(units)
        self._limits = dict(limits)
        self.end_ns = end_ns

    def unit(self, name: str) -> str:
        return self._units.get(name, "")

    def signal_limits(self, name: str) -> tuple[float, float, float] | None:
        """(minimum, maximum, resolution) as a DBC would declare them."""
        return self._limits.get(name)

    def signal(self, name: str) -> FakeSeries:
        t, v = self._signals[name]
        return FakeSeries(name, t, v)

    def frames(self, message: str) -> FakeFrames:
        return FakeFrames(self._frames.get(message, np.zeros(0, dtype=np.int64)))

    def choices(self, name: str) -> Mapping[str, float] | None:
        return self._choices.get(name)

    def names(self) -> list[str]:
        return sorted(self._signals)

    def has(self, name: str) -> bool:
        return name in self._signals


def steps(*points: tuple[float, float]) -> tuple[list[int], list[float]]:
    """A series from (t in ms, value) pairs."""
    return [int(round(t * MS)) for t, _ in points], [v for _, v in points]


def periodic(start_ms: float, period_ms: float, values: Iterable[float]) -> tuple[list[int],
                                                                                   list[float]]:
    """One sample every ``period_ms`` from ``start_ms``, like a cyclic frame."""
    vals = list(values)
    return [int(round((start_ms + i * period_ms) * MS)) for i in range(len(vals))], vals
