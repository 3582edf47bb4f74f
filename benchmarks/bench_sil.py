"""Full-stack SIL speed: all plants, all controllers, every frame encoded and decoded
through the simulated bus with bit timing, trace on — simulated seconds per wall second.

    .venv/bin/python benchmarks/bench_sil.py [--seconds 20] [--repeat 3] [--workloads pull lap]
        [--trace on|off|both]

Workloads (issue 7): the full-throttle pull (scenarios/vehicle/full_throttle_pull.yaml,
road car, 14 s) and the track lap (scenarios/vehicle/race_car_lap.yaml, race car, 48 s),
each set up as ``hil run`` sets it up (rig, plant, calibration, seed, mode, initial state),
run on one core (the process is pinned to one CPU). Each figure is the best of --repeat
runs, the least disturbed by the machine. Target (issue 7): >= 25x real time, trace on.
"""

from __future__ import annotations

import argparse

from _workloads import (
    build_bench,
    load_workload,
    machine_line,
    pin_one_core,
    seconds_per_simulated_second,
)


def run(scenario, seconds: float, trace: bool) -> float:
    return 1.0 / seconds_per_simulated_second(build_bench(scenario, trace=trace), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None,
                        help="simulated seconds per run (default: the scenario's duration)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", choices=("pull", "lap"),
                        default=["pull", "lap"])
    parser.add_argument("--trace", choices=("on", "off", "both"), default="both")
    args = parser.parse_args()
    traces = {"on": (True,), "off": (False,), "both": (True, False)}[args.trace]
    labels = {"pull": "full-throttle pull", "lap": "track lap"}
    pinned = pin_one_core()
    print(f"{machine_line()}; {pinned}; best of {args.repeat}")
    for name in args.workloads:
        label = labels[name]
        scenario = load_workload(name)
        seconds = args.seconds or scenario.duration_ns / 1e9
        for trace in traces:
            best = max(run(scenario, seconds, trace) for _ in range(args.repeat))
            print(f"{label:18s} {seconds:4g} s, trace {'on ' if trace else 'off'}: "
                  f"{best:5.1f}x real time ({1000 / best:6.1f} us wall per simulated ms)")


if __name__ == "__main__":
    main()
