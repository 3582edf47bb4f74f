"""Aero controller (10 ms): DRS command and the brake-stability flag.

DRS opens only when requested and allowed: speed above drs_min_speed, not braking,
small lateral acceleration (the bus has no steering angle; lateral acceleration stands
for it), PlantSlow received correctly and the engine below LIMP. It closes at once on
braking, on a fault, or when the request is released; after a brake-closure it opens
again only on a new request (rising edge), as a race DRS does. Speed and lateral limits
have hysteresis so the flap does not chatter at the thresholds.

BrakeStability = 1 flags a stability risk under braking: the rear axle's share of the
load, (l_f - z*h)/L at deceleration z [g], below brake_min_rear_share.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.base import Controller
from controllers.codes import EngineMode


class AeroController(Controller):
    period = 0.01
    inputs = ("DrsRequest", "VehicleSpeed", "BrakePressure", "LongitudinalAccel",
              "LateralAccel", "PlantSlow_RxStatus", "EngineMode")
    outputs = ("DrsCommand", "BrakeStability", "RearLoadShare")
    defaults = {"DrsCommand": 0.0, "BrakeStability": 0.0, "RearLoadShare": 0.5}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        self._s = self.calibration.scalars
        self.drs_open = False
        self.unstable = False
        self._armed = True   # a new request is needed after a brake-closure

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        s = self._s
        request = g("DrsRequest", 0.0) >= 0.5
        speed = g("VehicleSpeed", 0.0)
        braking = g("BrakePressure", 0.0) > s["drs_max_brake"]
        lat = abs(g("LateralAccel", 0.0))
        fault = (g("PlantSlow_RxStatus", 0.0) != 0.0
                 or g("EngineMode", 0.0) >= EngineMode.LIMP)
        if not request:
            self._armed = True
        if self.drs_open:
            if (braking or fault or not request or speed < s["drs_min_speed"] - s["drs_speed_hyst"]
                    or lat > s["drs_max_lat"] + s["drs_lat_hyst"]):
                self.drs_open = False
                if braking:
                    self._armed = False
        elif (request and self._armed and not braking and not fault
              and speed > s["drs_min_speed"] and lat < s["drs_max_lat"]):
            self.drs_open = True

        z = -g("LongitudinalAccel", 0.0)          # deceleration in g, > 0 when braking
        if z < 0.0:
            z = 0.0
        share = (s["cog_to_front"] - z * s["cog_height"]) / s["wheelbase"]
        share = 0.0 if share < 0.0 else share
        brake_on = g("BrakePressure", 0.0) > s["brake_on"]
        lo = s["brake_min_rear_share"]
        if self.unstable:
            self.unstable = brake_on and share < lo + s["brake_share_hyst"]
        else:
            self.unstable = brake_on and share < lo
        return {"DrsCommand": 1.0 if self.drs_open else 0.0,
                "BrakeStability": 1.0 if self.unstable else 0.0, "RearLoadShare": share}
