"""Driver and track: a lap of straights and corners, a speed-following driver.

The driver tracks a target speed with throttle and brake (PI / P), picks gears by engine
speed, and requests DRS on straights marked for it. The target comes from the track (the
lowest of the current limit and every braking curve sqrt(v_lim^2 + 2 a d) of the corners
ahead) or from a road speed profile. docs/plants/driver_track.md.
"""

from __future__ import annotations

import math
from typing import NamedTuple

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

    def locate(self, distance_m: float) -> int:
        d = distance_m % self.length_m
        for i, seg in enumerate(self.segs):
            if d < seg.end_m:
                return i
        return len(self.segs) - 1

    def target_speed(self, distance_m: float, decel_mps2: float) -> tuple[float, int]:
        """Speed the driver aims for now: current limit and braking curves of what is ahead."""
        d = distance_m % self.length_m
        i = self.locate(distance_m)
        v = self.segs[i].v_limit_mps
        n = len(self.segs)
        for k in range(1, n + 1):
            s0, _, vlim, _, _ = self.segs[(i + k) % n]
            ahead = s0 - d + (self.length_m if (i + k) >= n else 0.0)
            vb = math.sqrt(vlim * vlim + 2.0 * decel_mps2 * max(ahead, 0.0))
            if vb < v:
                v = vb
        return v, i


class Driver:
    """Speed-following driver; runs at the slow rate."""

    def __init__(self, p: DriverParams, n_gears: int) -> None:
        self.p = p
        self.n_gears = n_gears
        self.reset()

    def reset(self) -> None:
        self.integral = 0.0
        self.gear = 1
        self.shift_timer = 0.0
        self.throttle = 0.0
        self.brake = 0.0
        self.drs = 0.0

    def step(self, dt: float, v_target_mps: float, v_mps: float, engine_rpm: float,
             drs_zone: bool) -> None:
        p = self.p
        e = (v_target_mps - v_mps) * 3.6
        if e > -1.5:
            self.integral += p.ki_pct_per_kph_s * e * dt
            self.integral = min(max(self.integral, 0.0), 100.0)
            thr = p.kp_pct_per_kph * e + self.integral
            self.throttle = min(max(thr, 0.0), 100.0)
            self.brake = 0.0
        else:
            self.integral = 0.0
            self.throttle = 0.0
            self.brake = min(p.brake_pct_per_kph * (-e - 1.5), 100.0)
        # gears: by engine speed and load (a shift schedule), with a pause after a shift
        self.shift_timer -= dt
        if self.shift_timer <= 0.0:
            load = self.throttle * 0.01
            up = p.upshift_rpm
            if p.upshift_rpm_light > 0.0:
                up = p.upshift_rpm_light + (p.upshift_rpm - p.upshift_rpm_light) * load
            down = p.downshift_rpm
            if p.downshift_rpm_light > 0.0:
                down = p.downshift_rpm_light + (p.downshift_rpm - p.downshift_rpm_light) * load
            if v_mps * 3.6 < p.min_gear_speed_kph and v_target_mps * 3.6 < p.min_gear_speed_kph:
                pass
            elif engine_rpm > up and self.gear < self.n_gears:
                self.gear += 1
                self.shift_timer = SHIFT_PAUSE_S
            elif engine_rpm < down and self.gear > 1:
                self.gear -= 1
                self.shift_timer = SHIFT_PAUSE_S
        self.drs = 1.0 if (drs_zone and self.brake == 0.0 and v_mps * 3.6 > p.drs_min_speed_kph
                           and self.throttle > 90.0) else 0.0
