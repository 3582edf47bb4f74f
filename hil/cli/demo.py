"""``hil demo``: the closed loop with the real plants and the n.Tec controllers.

A dyno pull (throttle steps at a held engine speed) through the SIL rig, with a
live progress line, a summary table, and the trace (BLF, MF4) and a plot written
to the report directory. It shows the loop working end to end before any
scenario is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig", default=None, help="rig file (default rigs/sil.yaml)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="simulated seconds to run (default 10)")
    parser.add_argument("--plant", default=None, help="plant parameter set (default: the rig's)")
    parser.add_argument("--rpm", type=float, default=3000.0, help="dyno speed (default 3000)")
    parser.add_argument("--report", default="reports/demo",
                        help="directory for the trace and the plot (default reports/demo)")
    parser.add_argument("--no-files", action="store_true", help="write no trace or plot")


def main(args: argparse.Namespace) -> int:
    from hil.bench import open_bench
    from hil.report.plot import plot_signals
    from hil.trace.export import export

    if args.seconds <= 0:
        print("hil demo: error: --seconds must be positive", file=sys.stderr)
        return 2
    bench = open_bench(args.rig, plant_params=args.plant)
    plant = bench.plant
    plant.set_driver_mode("dyno")
    plant.set_state(**{"engine.coolant_temp_c": 85.0, "engine.oil_temp_c": 85.0})
    plant.inputs["dyno.speed_rpm"] = args.rpm
    total_ns = round(args.seconds * 1e9)
    # Throttle steps: 20 % -> 100 % -> 30 %, so boost, lambda and knock all move.
    schedule = [(0.0, 20.0), (0.3, 100.0), (0.75, 30.0)]
    wall0 = time.perf_counter()
    chunk = max(total_ns // 50, 1_000_000)
    t = 0
    with bench:
        while t < total_ns:
            frac = t / total_ns
            for start, throttle in schedule:
                if frac >= start:
                    plant.inputs["driver.throttle_pct"] = throttle
            t = min(t + chunk, total_ns)
            bench.run_until(t)
            if sys.stderr.isatty():
                print(f"\r  {bench.now:7.2f} s simulated", end="", file=sys.stderr)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    wall = time.perf_counter() - wall0
    trace = bench.trace
    assert trace is not None  # the demo's bench records (trace=True, the default)
    rows = []
    for name in bench.rig.overview:   # the rig's overview signals
        if not trace.has(name):
            continue
        s = trace.signal(name)
        if len(s.values):
            rows.append((name, s.unit or "", s.values.min(), s.values.max(), s.values[-1]))
    print(f"closed loop: {args.seconds:g} s simulated in {wall:.2f} s wall "
          f"({args.seconds / wall:.1f}x real time)")
    print(f"{'signal':18s} {'unit':6s} {'min':>10s} {'max':>10s} {'last':>10s}")
    for name, unit, lo, hi, last in rows:
        print(f"{name:18s} {unit:6s} {lo:10.3f} {hi:10.3f} {last:10.3f}")
    load = bench.network.report()
    print(f"bus load: mean {load['load_mean'] * 100:.1f} %, max {load['load_max'] * 100:.1f} % "
          f"(10 ms windows); frames {load['frames']}")
    for task, times in bench.ecu.task_times().items():
        if times.size:
            print(f"task {task:6s}: {times.size} runs, execution p50 {sorted(times)[times.size // 2] / 1e3:.1f} us, "
                  f"max {times.max() / 1e3:.1f} us (thread CPU time)")
    if not args.no_files:
        out = Path(args.report)
        out.mkdir(parents=True, exist_ok=True)
        export(trace, "blf", out / "demo.blf")
        export(trace, "mf4", out / "demo.mf4")
        plot_signals(trace, [*bench.rig.overview[:5], "driver.throttle_pct"],
                     out / "demo.png", title=f"hil demo: dyno at {args.rpm:g} rpm")
        print(f"trace and plot: {out}/demo.blf, demo.mf4, demo.png")
    return 0
