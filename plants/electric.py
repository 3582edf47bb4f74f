"""Electric machine on the crank with its energy store: a hybrid race car's motor-generator.

Pure physics and one documented deployment strategy (docs/plants/electric.md):

- The machine acts on the crank (through a fixed gear, folded into its torque limit):
  motoring torque `T = min(T_max, P_max / w)`, generating (harvest) torque
  `-min(T_max, P_regen / w)`; no torque below `min_rpm` (the machine's field weakening and
  the clutch's launch range are not modelled).
- Energy store: `dE/dt = -P_mech / eta` when motoring, `+|P_mech| eta` when generating,
  E within 0 .. capacity; the state of charge is `E / capacity`.
- Deployment: full deployment while the driver's throttle is at or above
  `deploy_throttle_pct`, the car moves faster than `deploy_min_kph` and the store holds
  more than `min_soc_pct`; harvest while the driver brakes above `harvest_brake_pct`, up to
  `max_regen_kw`, until the store is full. Neither on the dyno (the dyno holds the crank
  speed: there is no vehicle to deploy into) nor in neutral.
"""

from __future__ import annotations

from .params import ElectricParams

MIN_OMEGA_RAD_S = 1.0               # P / w is evaluated at no less than this crank speed
RPM_TO_RAD_S = 2.0 * 3.141592653589793 / 60.0


class ElectricMachine:
    """State: the energy store's energy [J]. `step` returns the crank torque [N m]."""

    def __init__(self, p: ElectricParams) -> None:
        self.p = p
        self.capacity_j = p.capacity_mj * 1e6
        self.reset()

    def reset(self, soc_pct: float | None = None) -> None:
        soc = self.p.initial_soc_pct if soc_pct is None else soc_pct
        soc = 0.0 if soc < 0.0 else (100.0 if soc > 100.0 else soc)
        self.energy_j = self.capacity_j * soc * 0.01
        self.torque_nm = 0.0
        self.power_w = 0.0          # mechanical, at the crank: > 0 motoring, < 0 harvesting
        self.deployed_j = 0.0       # mechanical energy deployed since the reset
        self.harvested_j = 0.0      # mechanical energy harvested since the reset

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.energy_j / self.capacity_j if self.capacity_j > 0.0 else 0.0

    def step(self, dt: float, omega_rad_s: float, throttle_pct: float, brake_pct: float,
             speed_kph: float, in_gear: bool) -> float:
        """Advance the store by `dt` [s] at crank speed `omega_rad_s` and return the machine's
        crank torque [N m] for this step (0 when disabled, out of gear or below min_rpm)."""
        p = self.p
        tq = 0.0
        if p.enabled and in_gear and omega_rad_s >= p.min_rpm * RPM_TO_RAD_S:
            om = omega_rad_s if omega_rad_s > MIN_OMEGA_RAD_S else MIN_OMEGA_RAD_S
            if (throttle_pct >= p.deploy_throttle_pct and speed_kph > p.deploy_min_kph
                    and self.soc_pct > p.min_soc_pct):
                tq = p.max_power_kw * 1e3 / om
                if tq > p.max_torque_nm:
                    tq = p.max_torque_nm
                e_out = tq * om * dt / p.efficiency
                if e_out > self.energy_j:                 # the store runs empty this step
                    tq *= self.energy_j / e_out
                    e_out = self.energy_j
                self.energy_j -= e_out
                self.deployed_j += tq * om * dt
            elif brake_pct > p.harvest_brake_pct and self.energy_j < self.capacity_j:
                tq = -p.max_regen_kw * 1e3 / om
                if tq < -p.max_torque_nm:
                    tq = -p.max_torque_nm
                e_in = -tq * om * dt * p.efficiency
                room = self.capacity_j - self.energy_j
                if e_in > room:
                    tq *= room / e_in
                    e_in = room
                self.energy_j += e_in
                self.harvested_j -= tq * om * dt
            self.power_w = tq * om
        else:
            self.power_w = 0.0
        self.torque_nm = tq
        return tq
