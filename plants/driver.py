"""Driver and track: a lap of straights and corners, a speed-following driver.

The driver tracks a target speed with throttle and brake (PI / P), picks gears by engine
speed, and requests DRS on straights marked for it. The target comes from the track (the
lowest of the current limit and every braking curve sqrt(v_lim^2 + 2 a d) of the corners
ahead) or from a road speed profile. docs/plants/driver_track.md.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._jit import Field, IntField, array, array2d, compile_kernels, kernel
from .errors import PlantError, unknown_name
from .params import DriverParams

SEGMENT_KEYS = ("kind", "length_m", "speed_kph", "radius_m", "drs")
SHIFT_PAUSE_S = 0.4                     # no new shift this soon after one
DRS_ZONE_MIN_LENGTH_M = 500.0           # straights this long are DRS zones unless told otherwise


class Segment(NamedTuple):
    start_m: float
    end_m: float
    v_limit_mps: float
    radius_m: float                     # 0 on straights
    drs: bool


class Track:
    """A closed lap: segments with start distance, speed limit [m/s], radius, DRS zone."""

    def __init__(self, segments: list, lateral_mu: float = 0.95, default_speed_kph: float = 250.0) -> None:
        if not segments:
            raise PlantError("a track needs at least one segment")
        self.segs = []
        s = 0.0
        for i, seg in enumerate(segments):
            if not isinstance(seg, dict):
                raise PlantError(f"track segment {i} must be a mapping")
            for k in seg:
                if k not in SEGMENT_KEYS:
                    raise unknown_name(f"key of track segment {i}", k, SEGMENT_KEYS)
            kind = seg.get("kind", "straight")
            if kind not in ("straight", "corner"):
                raise unknown_name(f"kind of track segment {i}", kind, ("straight", "corner"))
            length = float(seg.get("length_m", 0.0))
            if length <= 0:
                raise PlantError(f"track segment {i}: length_m must be > 0")
            radius = float(seg.get("radius_m", 0.0)) if kind == "corner" else 0.0
            if "speed_kph" in seg:
                vlim = float(seg["speed_kph"]) / 3.6
            elif radius > 0:
                vlim = math.sqrt(lateral_mu * 9.81 * radius)
            else:
                vlim = default_speed_kph / 3.6
            drs = bool(seg.get("drs", kind == "straight" and length >= DRS_ZONE_MIN_LENGTH_M))
            self.segs.append(Segment(s, s + length, vlim, radius, drs))
            s += length
        self.length_m = s
        #: The segments as the kernels take them: rows of (start, end, v_limit, radius, drs).
        self.table = array2d([(g.start_m, g.end_m, g.v_limit_mps, g.radius_m, float(g.drs))
                              for g in self.segs])

    def locate(self, distance_m: float) -> int:
        return int(track_locate(self.table, self.length_m, float(distance_m)))

    def target_speed(self, distance_m: float, decel_mps2: float) -> tuple[float, int]:
        """Speed the driver aims for now: current limit and braking curves of what is ahead."""
        v, i = track_target(self.table, self.length_m, float(distance_m), float(decel_mps2))
        return float(v), int(i)


@kernel
def track_locate(table, length_m, distance_m):
    """The segment index at `distance_m` (Track.locate) over a track's table."""
    d = distance_m % length_m
    n = len(table)
    for i in range(n):
        if d < table[i][1]:
            return i
    return n - 1


@kernel
def track_target(table, length_m, distance_m, decel_mps2):
    """(target speed, segment index) at `distance_m` (Track.target_speed)."""
    d = distance_m % length_m
    i = track_locate(table, length_m, distance_m)
    v = table[i][2]
    n = len(table)
    for k in range(1, n + 1):
        seg = table[(i + k) % n]
        s0 = seg[0]
        vlim = seg[2]
        ahead = s0 - d + (length_m if (i + k) >= n else 0.0)
        vb = math.sqrt(vlim * vlim + 2.0 * decel_mps2 * (0.0 if 0.0 > ahead else ahead))
        if vb < v:
            v = vb
    return v, i


DRIVER_STATE = ("integral", "gear", "shift_timer", "throttle", "brake", "drs")
(D_INT, D_GEAR, D_SHIFT_T, D_THR, D_BRAKE, D_DRS) = range(len(DRIVER_STATE))
DRIVER_PARAMS = ("kp_pct_per_kph", "ki_pct_per_kph_s", "brake_pct_per_kph", "upshift_rpm",
                 "downshift_rpm", "upshift_rpm_light", "downshift_rpm_light",
                 "min_gear_speed_kph", "drs_min_speed_kph")
(DP_KP, DP_KI, DP_KB, DP_UP, DP_DOWN, DP_UP_LIGHT, DP_DOWN_LIGHT, DP_MIN_GEAR_KPH,
 DP_DRS_MIN_KPH, DP_N_GEARS) = range(len(DRIVER_PARAMS) + 1)


class Driver:
    """Speed-following driver; runs at the slow rate. State in the array ``st``
    (DRIVER_STATE; the attributes of the same names read and write it)."""

    integral = Field(D_INT)
    gear = IntField(D_GEAR)
    shift_timer = Field(D_SHIFT_T)
    throttle = Field(D_THR)
    brake = Field(D_BRAKE)
    drs = Field(D_DRS)

    def __init__(self, p: DriverParams, n_gears: int) -> None:
        compile_kernels()
        self.p = p
        self.n_gears = n_gears
        self.pa = array([float(getattr(p, n)) for n in DRIVER_PARAMS] + [float(n_gears)])
        self.st = array([0.0] * len(DRIVER_STATE))
        self.reset()

    def reset(self) -> None:
        st = self.st
        for i in range(len(DRIVER_STATE)):
            st[i] = 0.0
        st[D_GEAR] = 1.0

    def step(self, dt: float, v_target_mps: float, v_mps: float, engine_rpm: float,
             drs_zone: bool) -> None:
        driver_step(self.st, self.pa, float(dt), float(v_target_mps), float(v_mps),
                    float(engine_rpm), 1.0 if drs_zone else 0.0)


@kernel
def driver_step(st, pa, dt, v_target_mps, v_mps, engine_rpm, drs_zone):
    """One (slow) step of the driver over its state `st` and parameters `pa`."""
    e = (v_target_mps - v_mps) * 3.6
    if e > -1.5:
        st[D_INT] += pa[DP_KI] * e * dt
        x = st[D_INT]
        x = 0.0 if 0.0 > x else x                       # min(max(x, 0.0), 100.0)
        st[D_INT] = 100.0 if 100.0 < x else x
        thr = pa[DP_KP] * e + st[D_INT]
        thr = 0.0 if 0.0 > thr else thr
        st[D_THR] = 100.0 if 100.0 < thr else thr
        st[D_BRAKE] = 0.0
    else:
        st[D_INT] = 0.0
        st[D_THR] = 0.0
        b = pa[DP_KB] * (-e - 1.5)
        st[D_BRAKE] = 100.0 if 100.0 < b else b          # min(b, 100.0)
    # gears: by engine speed and load (a shift schedule), with a pause after a shift
    st[D_SHIFT_T] -= dt
    if st[D_SHIFT_T] <= 0.0:
        load = st[D_THR] * 0.01
        up = pa[DP_UP]
        if pa[DP_UP_LIGHT] > 0.0:
            up = pa[DP_UP_LIGHT] + (pa[DP_UP] - pa[DP_UP_LIGHT]) * load
        down = pa[DP_DOWN]
        if pa[DP_DOWN_LIGHT] > 0.0:
            down = pa[DP_DOWN_LIGHT] + (pa[DP_DOWN] - pa[DP_DOWN_LIGHT]) * load
        if v_mps * 3.6 < pa[DP_MIN_GEAR_KPH] and v_target_mps * 3.6 < pa[DP_MIN_GEAR_KPH]:
            pass
        elif engine_rpm > up and st[D_GEAR] < pa[DP_N_GEARS]:
            st[D_GEAR] += 1.0
            st[D_SHIFT_T] = SHIFT_PAUSE_S
        elif engine_rpm < down and st[D_GEAR] > 1.0:
            st[D_GEAR] -= 1.0
            st[D_SHIFT_T] = SHIFT_PAUSE_S
    st[D_DRS] = 1.0 if (drs_zone != 0.0 and st[D_BRAKE] == 0.0
                        and v_mps * 3.6 > pa[DP_DRS_MIN_KPH] and st[D_THR] > 90.0) else 0.0
