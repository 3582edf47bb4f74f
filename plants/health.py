"""Part health: injectors, turbo, knock sensor, cooling, and the wastegate.

A part fault sets a target factor (1.0 healthy), reached at once or linearly over
`ramp_s` seconds (slow wear the detuner must follow). The factors act on the physics
(injector flow, turbo efficiencies, knock sensor sensitivity, radiator capacity) and are
published as health.*_pct, the plant-side diagnosis the ECU receives on PlantHealth.
"""

from __future__ import annotations

from ._jit import array, compile_kernels, kernel
from .errors import unknown_name
from .faults import PART_FAULTS, fault_params

#: The part-health array: (value, target, rate) of each factor, then the wastegate fault.
HEALTH_FACTORS = ("injectors", "turbo", "knock_sensor", "cooling")
H_INJ, H_TURBO, H_KNOCK, H_COOL = 0, 3, 6, 9          # each factor's value; +1 target, +2 rate
H_WASTEGATE = 12                                      # plants.turbo.WG_FAULT_CODES
_WG_CODES = {None: 0.0, "stuck_open": 1.0, "stuck_closed": 2.0}
_WG_NAMES = {v: k for k, v in _WG_CODES.items()}


class _Factor:
    """One health factor: a view of three entries of the part-health array."""

    __slots__ = ("_st", "_i")

    def __init__(self, st, i: int) -> None:
        self._st = st
        self._i = i

    @property
    def value(self) -> float:
        return float(self._st[self._i])

    @property
    def target(self) -> float:
        return float(self._st[self._i + 1])

    @property
    def rate(self) -> float:
        return float(self._st[self._i + 2])

    def set(self, target: float, ramp_s: float) -> None:
        st, i = self._st, self._i
        st[i + 1] = target
        st[i + 2] = abs(st[i] - target) / ramp_s if ramp_s > 0 else 0.0
        if ramp_s <= 0:
            st[i] = target

    def step(self, dt: float) -> None:
        factor_step(self._st, self._i, float(dt))


@kernel
def factor_step(st, i, dt):
    """Ramp one factor (value at st[i], target st[i + 1], rate st[i + 2]) towards its target."""
    d = st[i + 1] - st[i]
    if d != 0.0:
        s = st[i + 2] * dt
        st[i] = st[i + 1] if abs(d) <= s else st[i] + (s if d > 0 else -s)


@kernel
def health_step(st, dt):
    """One (slow) step of every health factor."""
    factor_step(st, H_INJ, dt)
    factor_step(st, H_TURBO, dt)
    factor_step(st, H_KNOCK, dt)
    factor_step(st, H_COOL, dt)


class PartHealth:
    """Part health in the array ``st``; the factors and ``wastegate`` read and write it."""

    def __init__(self) -> None:
        compile_kernels()
        self.st = array([1.0, 1.0, 0.0] * len(HEALTH_FACTORS) + [0.0])
        self.injectors = _Factor(self.st, H_INJ)
        self.turbo = _Factor(self.st, H_TURBO)
        self.knock_sensor = _Factor(self.st, H_KNOCK)
        self.cooling = _Factor(self.st, H_COOL)

    @property
    def wastegate(self) -> str | None:
        """None | "stuck_open" | "stuck_closed"."""
        return _WG_NAMES[float(self.st[H_WASTEGATE])]

    @wastegate.setter
    def wastegate(self, mode: str | None) -> None:
        self.st[H_WASTEGATE] = _WG_CODES[mode]

    def step(self, dt: float) -> None:
        health_step(self.st, float(dt))

    def inject(self, target: str, mode: str, **params) -> None:
        modes = PART_FAULTS[target]
        if mode not in modes:
            raise unknown_name(f"fault mode of {target}", mode, modes)
        fp = fault_params(target, modes[mode], params)
        if target == "turbo.wastegate":
            self.wastegate = mode
            return
        if target == "knock_sensor" and mode == "dead":
            self.knock_sensor.set(0.0, 0.0)
            return
        getattr(self, target).set(fp["factor"], fp["ramp_s"])

    def clear(self, target: str) -> None:
        if target == "turbo.wastegate":
            self.wastegate = None
        else:
            getattr(self, target).set(1.0, 0.0)

    def turbo_pct(self) -> float:
        return float(health_turbo_pct(self.st))


@kernel
def health_turbo_pct(st):
    """health.turbo_true: the turbo factor in %, halved with a wastegate fault."""
    v = st[H_TURBO]
    pct = 100.0 * (1.0 if 1.0 < v else v)               # 100 * min(value, 1.0)
    return pct * 0.5 if st[H_WASTEGATE] != 0.0 else pct
