"""The controller contract (docs/interfaces.md) as a small base class.

A controller declares its task ``period``, the signal names it reads (``inputs``) and
writes (``outputs``) and a value for every output before its first step
(``defaults``); it gets its calibration at construction and does its work in
``step(signals, now)``. Nothing else: no clock, no bus, no sleeping, no I/O in
``step``. Unknown options are rejected with the closest valid name.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, ClassVar

from controllers.basemap import Calibration, resolve_calibration
from controllers.codes import DBC_OUTPUT_RANGES


class Controller:
    """Base of every n.Tec controller task."""

    period: ClassVar[float] = 0.01
    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    # Output values before the first step (and what the runtime may pre-seed).
    defaults: ClassVar[Mapping[str, float]] = {}
    # Option name -> default value; anything else passed is an error.
    options: ClassVar[Mapping[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [o for o in cls.outputs if o not in cls.defaults]
        if missing:
            raise TypeError(f"{cls.__name__}: outputs without a default: {missing}")
        for name, value in cls.defaults.items():
            lo_hi = DBC_OUTPUT_RANGES.get(name)
            if lo_hi is not None and not lo_hi[0] <= value <= lo_hi[1]:
                raise TypeError(f"{cls.__name__}: default {name}={value} outside DBC range")

    def __init__(self, calibration: Calibration | str, **options: Any) -> None:
        self.calibration = resolve_calibration(calibration, type(self).__qualname__)
        for key in options:
            if key not in self.options:
                close = difflib.get_close_matches(key, list(self.options), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(f"{type(self).__name__}: unknown option {key!r}{hint}")
        self.opts: dict[str, Any] = {**self.options, **options}

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        raise NotImplementedError

    def initial_outputs(self) -> dict[str, float]:
        """Every output's value before the first step."""
        return dict(self.defaults)

    def close(self) -> None:
        """Release background resources (the persistence writer); idempotent."""
