"""Cost of one composite-plant step (the bench calls plant.step(1e-3, plant.inputs) every ms).

Run:  .venv/bin/python benchmarks/bench_plant.py
Prints microseconds per 1 ms step for the road and race parameter sets, at full throttle
on the dyno and driving the default lap (driver model + track). The ECU inputs are frozen
at a plausible full-load command so only the plant is timed. Budget: <= 30 us per step.
"""

from __future__ import annotations

import time

from plants import build_plant
from plants.analysis import ReferenceEcu, run


def bench(name: str, mode: str, seconds: float = 20.0) -> float:
    plant = build_plant(name, seed=0)
    ecu = ReferenceEcu(boost_target_kpa=210 if name == "road_car" else 300)
    if mode == "full_throttle":
        plant.set_driver_mode("dyno", speed_rpm=5000 if name == "road_car" else 10000)
        plant.inputs["driver.throttle_pct"] = 100.0
    else:
        plant.set_driver_mode("track")
    run(plant, 5.0, ecu)                 # warm up into the operating point with the ECU
    step, u = plant.step, plant.inputs
    n = int(seconds * 1000)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n // 3):
            step(1e-3, u)
        best = min(best, (time.perf_counter() - t0) / (n // 3) * 1e6)
    return best


def main() -> None:
    print("composite plant step, us per 1 ms step (best of 3 runs; budget 30 us)")
    for name in ("road_car", "race_car"):
        for mode in ("full_throttle", "track_lap"):
            print(f"  {name:9s} {mode:14s} {bench(name, mode):6.1f} us")


if __name__ == "__main__":
    main()
