"""Part health: injectors, turbo, knock sensor, cooling, and the wastegate.

A part fault sets a target factor (1.0 healthy), reached at once or linearly over
`ramp_s` seconds (slow wear the detuner must follow). The factors act on the physics
(injector flow, turbo efficiencies, knock sensor sensitivity, radiator capacity) and are
published as health.*_pct, the plant-side diagnosis the ECU receives on PlantHealth.
"""

from __future__ import annotations

from .errors import unknown_name
from .faults import PART_FAULTS, fault_params


class _Factor:
    __slots__ = ("value", "target", "rate")

    def __init__(self) -> None:
        self.value = 1.0
        self.target = 1.0
        self.rate = 0.0

    def set(self, target: float, ramp_s: float) -> None:
        self.target = target
        self.rate = abs(self.value - target) / ramp_s if ramp_s > 0 else 0.0
        if ramp_s <= 0:
            self.value = target

    def step(self, dt: float) -> None:
        d = self.target - self.value
        if d:
            s = self.rate * dt
            self.value = self.target if abs(d) <= s else self.value + (s if d > 0 else -s)


class PartHealth:
    def __init__(self) -> None:
        self.injectors = _Factor()
        self.turbo = _Factor()
        self.knock_sensor = _Factor()
        self.cooling = _Factor()
        self.wastegate: str | None = None  # None | "stuck_open" | "stuck_closed"

    def step(self, dt: float) -> None:
        self.injectors.step(dt)
        self.turbo.step(dt)
        self.knock_sensor.step(dt)
        self.cooling.step(dt)

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
        pct = 100.0 * min(self.turbo.value, 1.0)
        return pct * 0.5 if self.wastegate else pct
