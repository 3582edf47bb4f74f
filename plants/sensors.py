"""Sensor models: range, quantisation, first-order lag, seeded noise, and fault modes.

Every published quantity goes through one of these. A sensor's range sits inside the DBC
signal range of the signal the rig publishes it on; open and short faults drive the
reading to the DBC range maximum and minimum, where the ECU's plausibility checks see them.
Noise comes from one seeded buffer of normal deviates, so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import unknown_name
from .faults import SENSOR_FAULTS, fault_params

SENSOR_FAULT_MODES = tuple(SENSOR_FAULTS)


@dataclass(frozen=True)
class SensorSpec:
    name: str            # output name, e.g. "sensor.lambda"
    source: str          # true quantity it measures, e.g. "exhaust.lambda_sensed"
    lo: float            # sensor range
    hi: float
    dbc_lo: float        # DBC signal range (open/short readings)
    dbc_hi: float
    quant: float         # resolution
    tau_s: float         # first-order lag
    noise_std: float     # white noise, in the quantity's unit
    fast: bool           # every step (1 ms safety frame) or at the slow rate


SPECS = (
    SensorSpec("sensor.engine_speed_rpm", "engine.speed_rpm", 0, 16000, 0, 16383, 1, 0.0, 2.0, True),
    SensorSpec("sensor.manifold_pressure_kpa", "engine.manifold_pressure_kpa", 10, 400, 0, 511.5, 0.5, 0.003, 0.3, True),
    SensorSpec("sensor.boost_pressure_kpa", "turbo.boost_pressure_kpa", 10, 400, 0, 511.5, 0.5, 0.003, 0.3, True),
    SensorSpec("sensor.lambda", "exhaust.lambda_sensed", 0.65, 2.5, 0.5, 2.546, 0.002, 0.0, 0.003, True),
    SensorSpec("sensor.knock_intensity", "engine.knock_signal", 0.0, 5.1, 0.0, 5.1, 0.02, 0.0, 0.0, True),
    SensorSpec("sensor.gear", "vehicle.gear", 0, 15, 0, 15, 1, 0.0, 0.0, False),
    SensorSpec("sensor.throttle_pct", "engine.throttle_pct", 0, 100, 0, 102.3, 0.1, 0.0, 0.05, False),
    SensorSpec("sensor.vehicle_speed_kph", "vehicle.speed_kph", 0, 500, 0, 511.5, 0.1, 0.02, 0.05, False),
    SensorSpec("sensor.brake_pressure_bar", "brake.pressure_bar", 0, 250, 0, 255, 0.1, 0.01, 0.2, False),
    SensorSpec("sensor.accel_long_g", "vehicle.accel_long_g", -6.0, 6.0, -6.4, 6.35, 0.01, 0.02, 0.01, False),
    SensorSpec("sensor.accel_lat_g", "vehicle.accel_lat_g", -6.0, 6.0, -6.4, 6.35, 0.01, 0.02, 0.01, False),
    SensorSpec("sensor.coolant_temp_c", "engine.coolant_temp_c", -40, 150, -40, 215, 0.1, 2.0, 0.1, False),
    SensorSpec("sensor.oil_temp_c", "engine.oil_temp_c", -40, 160, -40, 215, 0.1, 2.0, 0.1, False),
    SensorSpec("sensor.intake_air_temp_c", "intake.air_temp_c", -40, 150, -40, 215, 0.1, 1.5, 0.1, False),
    SensorSpec("sensor.egt_c", "exhaust.egt_c", 0, 1300, -40, 1400, 1, 1.0, 1.0, False),
    SensorSpec("sensor.turbo_speed_rpm", "turbo.speed_rpm", 0, 400000, 0, 409500, 100, 0.0, 200.0, False),
    SensorSpec("driver.drs_request", "driver.drs_request_true", 0, 1, 0, 1, 1, 0.0, 0.0, False),
    SensorSpec("aero.drs_open", "aero.drs_position", 0, 1, 0, 1, 1, 0.0, 0.0, False),
    SensorSpec("health.turbo_pct", "health.turbo_true", 0, 100, 0, 100, 1, 0.0, 0.0, False),
    SensorSpec("health.injector_pct", "health.injector_true", 0, 100, 0, 100, 1, 0.0, 0.0, False),
    SensorSpec("health.knock_sensor_pct", "health.knock_sensor_true", 0, 100, 0, 100, 1, 0.0, 0.0, False),
    SensorSpec("health.cooling_pct", "health.cooling_true", 0, 100, 0, 100, 1, 0.0, 0.0, False),
)


class Sensor:
    """One sensor: lag -> noise -> fault -> range clip -> quantisation."""

    __slots__ = ("spec", "state", "value", "noise", "_buf", "_i", "_n", "_alpha", "_adt",
                 "fault", "fparams", "t0", "lo", "hi", "q", "iq", "tau")

    def __init__(self, spec: SensorSpec, noise_buf: list[float], start: int, noise_scale: float) -> None:
        self.spec = spec
        self.lo, self.hi, self.q, self.tau = float(spec.lo), float(spec.hi), float(spec.quant), spec.tau_s
        self.iq = 1.0 / self.q
        self.noise = spec.noise_std * noise_scale
        self._buf = noise_buf
        self._n = len(noise_buf)
        self._i = start % self._n
        self._alpha = 1.0
        self._adt: float | None = None
        self.state: float | None = None
        self.value = 0.0
        self.fault: str | None = None
        self.fparams: dict[str, float] = {}
        self.t0 = 0.0

    def reset(self, x: float) -> None:
        self.state = x
        self.value = self._finish(x)

    def _finish(self, y: float) -> float:
        if y < self.lo:
            y = self.lo
        elif y > self.hi:
            y = self.hi
        return math.floor(y * self.iq + 0.5) * self.q

    def read(self, x: float, dt: float, t: float) -> float:
        y: float | None  # None: the fault set self.value itself
        if self.state is None:
            self.state = x
        if self.tau > 0.0:
            if dt != self._adt:
                self._adt = dt
                self._alpha = 1.0 - math.exp(-dt / self.tau)
            self.state += (x - self.state) * self._alpha
            y = self.state
        else:
            self.state = y = x
        if self.noise:
            i = self._i + 1
            if i == self._n:
                i = 0
            self._i = i
            y += self.noise * self._buf[i]
        if self.fault is not None:
            y = self._faulted(y, t)
            if y is None:
                return self.value
        # clip to the range and quantise: _finish, inlined (the bench's hottest call)
        if y < self.lo:
            y = self.lo
        elif y > self.hi:
            y = self.hi
        v = math.floor(y * self.iq + 0.5) * self.q
        self.value = v
        return v

    def _faulted(self, y: float, t: float) -> float | None:
        f = self.fault
        fp = self.fparams
        if f == "open":
            self.value = float(self.spec.dbc_hi)
            return None
        if f == "short":
            self.value = float(self.spec.dbc_lo)
            return None
        if f == "stuck":
            self.value = fp["value"]
            return None
        if f == "offset":
            return y + fp["value"]
        if f == "drift":
            return y + fp["rate_per_s"] * (t - self.t0)
        if f == "noise":
            i = self._i + 1
            if i == self._n:
                i = 0
            self._i = i
            return y + fp["std"] * self._buf[i]
        # intermittent: an open circuit for the last (1 - duty) of every period
        period = fp["period_s"]
        phase = ((t - self.t0) % period) / period
        if phase >= fp["duty"]:
            self.value = float(self.spec.dbc_hi)
            return None
        return y

    def inject(self, mode: str, t: float, **params) -> None:
        if mode not in SENSOR_FAULTS:
            raise unknown_name(f"fault mode of {self.spec.name}", mode, SENSOR_FAULT_MODES)
        fp = fault_params(self.spec.name, SENSOR_FAULTS[mode], params)
        if mode == "stuck" and fp["value"] is None:
            fp["value"] = self.value
        self.fault = mode
        # every parameter is a number now: "stuck" had the only one without a default
        self.fparams = {k: v for k, v in fp.items() if v is not None}
        self.t0 = t

    def clear(self) -> None:
        self.fault = None
        self.fparams = {}
