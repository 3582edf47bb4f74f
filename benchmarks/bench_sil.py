"""Full-stack SIL speed: all plants, all controllers, every frame through the simulated bus
with bit timing, trace on — seconds simulated per second of wall time.

    /work/venv/bin/python benchmarks/bench_sil.py [--seconds 20] [--repeat 3]

Two workloads: a full-throttle dyno pull (every controller active, boost, knock) and a
road-car drive on the road profile. Each figure is the best of --repeat runs (the least
disturbed by the machine). Target (issue 5): >= 10x real time; (issue 7): >= 25x.
"""

from __future__ import annotations

import argparse
import platform
import time

from hil.bench import SilBench


def dyno_pull(bench: SilBench) -> None:
    bench.plant.set_driver_mode("dyno")
    bench.plant.inputs["dyno.speed_rpm"] = 4500.0
    bench.plant.inputs["driver.throttle_pct"] = 100.0


def road_drive(bench: SilBench) -> None:
    bench.plant.set_driver_mode("road", profile=[(0, 0), (10, 80), (20, 120), (30, 60),
                                                 (40, 100)])


WORKLOADS = {"dyno full throttle": dyno_pull, "road profile": road_drive}


def run(setup, seconds: float, trace: bool) -> float:
    bench = SilBench.from_rig(None, trace=trace)
    setup(bench)
    t0 = time.perf_counter()
    bench.run_for(seconds)
    wall = time.perf_counter() - t0
    bench.close()
    return seconds / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.python_implementation()} {platform.python_version()}"
          f", {args.seconds:g} s simulated per run, best of {args.repeat}")
    for name, setup in WORKLOADS.items():
        for trace in (True, False):
            best = max(run(setup, args.seconds, trace) for _ in range(args.repeat))
            label = "trace on " if trace else "trace off"
            print(f"{name:20s} {label}: {best:6.1f}x real time "
                  f"({1000 / best:6.1f} us wall per simulated ms)")


if __name__ == "__main__":
    main()
