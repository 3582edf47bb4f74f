"""Sensor models: range, quantisation, first-order lag, seeded noise, and fault modes.

Every published quantity goes through one of these. A sensor's range sits inside the DBC
signal range of the signal the rig publishes it on; open and short faults drive the
reading to the DBC range maximum and minimum, where the ECU's plausibility checks see them.
Noise comes from one seeded buffer of normal deviates, so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._jit import array, compile_kernels, kernel
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


#: One sensor's row of the sensor table (its state, fault and range).
SENSOR_FIELDS = ("has_state", "state", "value", "noise_i", "noise_n", "alpha", "adt", "fault",
                 "fp_value", "fp_rate_per_s", "fp_std", "fp_period_s", "fp_duty", "t0", "lo",
                 "hi", "q", "iq", "tau", "noise", "dbc_lo", "dbc_hi")
(S_HAS, S_STATE, S_VALUE, S_I, S_N, S_ALPHA, S_ADT, S_FAULT, S_FP_VALUE, S_FP_RATE, S_FP_STD,
 S_FP_PERIOD, S_FP_DUTY, S_T0, S_LO, S_HI, S_Q, S_IQ, S_TAU, S_NOISE, S_DBC_LO,
 S_DBC_HI) = range(len(SENSOR_FIELDS))
#: Sensor fault modes as the table holds them (0: no fault).
FAULT_CODES = {"open": 1.0, "short": 2.0, "stuck": 3.0, "offset": 4.0, "drift": 5.0,
               "noise": 6.0, "intermittent": 7.0}
_FAULT_NAMES = {v: k for k, v in FAULT_CODES.items()}
_FP_FIELDS = {"value": S_FP_VALUE, "rate_per_s": S_FP_RATE, "std": S_FP_STD,
              "period_s": S_FP_PERIOD, "duty": S_FP_DUTY}


def sensor_row(spec: SensorSpec, n_noise: int, start: int, noise_scale: float) -> list[float]:
    """A new sensor's row of the sensor table."""
    row = dict.fromkeys(SENSOR_FIELDS, 0.0)
    q = float(spec.quant)
    row.update(noise_i=start % n_noise, noise_n=n_noise, alpha=1.0, adt=math.nan,
               lo=float(spec.lo), hi=float(spec.hi), q=q, iq=1.0 / q, tau=spec.tau_s,
               noise=spec.noise_std * noise_scale, dbc_lo=float(spec.dbc_lo),
               dbc_hi=float(spec.dbc_hi))
    return [float(row[f]) for f in SENSOR_FIELDS]


class Sensor:
    """One sensor: lag -> noise -> fault -> range clip -> quantisation.

    Its state is a row of the sensor table (``row``, SENSOR_FIELDS): its own, or the
    composite plant's table row for this sensor (``row=``)."""

    __slots__ = ("spec", "st", "_buf", "fparams")

    def __init__(self, spec: SensorSpec, noise_buf, start: int, noise_scale: float,
                 row=None, noise_array=None) -> None:
        compile_kernels()
        self.spec = spec
        self._buf = array(noise_buf) if noise_array is None else noise_array
        self.st = array(sensor_row(spec, len(noise_buf), start, noise_scale)) if row is None else row
        self.fparams: dict[str, float] = {}

    @property
    def state(self) -> float | None:
        return float(self.st[S_STATE]) if self.st[S_HAS] else None

    @state.setter
    def state(self, x: float | None) -> None:
        self.st[S_HAS] = 0.0 if x is None else 1.0
        self.st[S_STATE] = 0.0 if x is None else float(x)

    @property
    def value(self) -> float:
        return float(self.st[S_VALUE])

    @property
    def fault(self) -> str | None:
        return _FAULT_NAMES.get(float(self.st[S_FAULT]))

    @property
    def t0(self) -> float:
        return float(self.st[S_T0])

    def reset(self, x: float) -> None:
        self.state = x
        self.st[S_VALUE] = self._finish(x)

    def _finish(self, y: float) -> float:
        return float(sensor_finish(self.st, float(y)))

    def read(self, x: float, dt: float, t: float) -> float:
        return float(sensor_read(self.st, self._buf, float(x), float(dt), float(t)))

    def inject(self, mode: str, t: float, **params) -> None:
        if mode not in SENSOR_FAULTS:
            raise unknown_name(f"fault mode of {self.spec.name}", mode, SENSOR_FAULT_MODES)
        fp = fault_params(self.spec.name, SENSOR_FAULTS[mode], params)
        if mode == "stuck" and fp["value"] is None:
            fp["value"] = self.value
        # every parameter is a number now: "stuck" had the only one without a default
        self.fparams = {k: v for k, v in fp.items() if v is not None}
        st = self.st
        for k, v in self.fparams.items():
            st[_FP_FIELDS[k]] = v
        st[S_T0] = t
        st[S_FAULT] = FAULT_CODES[mode]

    def clear(self) -> None:
        self.st[S_FAULT] = 0.0
        self.fparams = {}


@kernel
def sensor_finish(s, y):
    """Clip to the range and quantise."""
    if y < s[S_LO]:
        y = s[S_LO]
    elif y > s[S_HI]:
        y = s[S_HI]
    if y != y:
        raise ValueError("cannot convert float NaN to integer")
    return math.floor(y * s[S_IQ] + 0.5) * s[S_Q]


@kernel
def sensor_read(s, buf, x, dt, t):
    """One reading of the sensor whose table row is `s`, of the true value `x`."""
    if s[S_HAS] == 0.0:
        s[S_STATE] = x
        s[S_HAS] = 1.0
    if s[S_TAU] > 0.0:
        if dt != s[S_ADT]:
            s[S_ADT] = dt
            s[S_ALPHA] = 1.0 - math.exp(-dt / s[S_TAU])
        s[S_STATE] += (x - s[S_STATE]) * s[S_ALPHA]
        y = s[S_STATE]
    else:
        s[S_STATE] = x
        y = x
    if s[S_NOISE] != 0.0:
        i = int(s[S_I]) + 1
        if i == int(s[S_N]):
            i = 0
        s[S_I] = float(i)
        y += s[S_NOISE] * buf[i]
    f = s[S_FAULT]
    if f != 0.0:
        if f == 1.0:                                  # open
            s[S_VALUE] = s[S_DBC_HI]
            return s[S_VALUE]
        if f == 2.0:                                  # short
            s[S_VALUE] = s[S_DBC_LO]
            return s[S_VALUE]
        if f == 3.0:                                  # stuck
            s[S_VALUE] = s[S_FP_VALUE]
            return s[S_VALUE]
        if f == 4.0:                                  # offset
            y = y + s[S_FP_VALUE]
        elif f == 5.0:                                # drift
            y = y + s[S_FP_RATE] * (t - s[S_T0])
        elif f == 6.0:                                # noise
            i = int(s[S_I]) + 1
            if i == int(s[S_N]):
                i = 0
            s[S_I] = float(i)
            y = y + s[S_FP_STD] * buf[i]
        else:
            # intermittent: an open circuit for the last (1 - duty) of every period
            period = s[S_FP_PERIOD]
            phase = ((t - s[S_T0]) % period) / period
            if phase >= s[S_FP_DUTY]:
                s[S_VALUE] = s[S_DBC_HI]
                return s[S_VALUE]
    v = sensor_finish(s, y)
    s[S_VALUE] = v
    return v
