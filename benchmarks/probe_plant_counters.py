"""Why the plant step is slower inside the full stack than alone: hardware counters.

    .venv/bin/python benchmarks/probe_plant_counters.py [--repeat 2]

Needs Linux ``perf`` with hardware counters (``perf stat -e instructions true``). The
full-throttle pull is recorded once per process (plant inputs and outputs of every step,
``proto_plant_bound.record``); then ``perf stat`` counts only one region (enabled and
disabled through a control fifo):

* ``stack-real``: the full stack (trace on) with the real plant, 14 s simulated;
* ``stack-replay``: the same with the plant step replaced by a replay of its outputs;
* ``alone-real``: the plant alone, stepped on the recorded inputs;
* ``alone-replay``: the same loop, replaying the outputs instead of stepping.

Real minus replay is the plant step's own share, inside the stack and alone, per step: the
same instructions run in both (the same code on the same inputs), so any difference in
cycles is how the code runs next to the framework — branch mispredictions, instruction-
and data-cache misses.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile

from _workloads import build_bench, load_workload, machine_line, pin_one_core, replay_plant

EVENTS = ("instructions", "cycles", "branch-misses", "L1-icache-load-misses",
          "L1-dcache-load-misses", "task-clock")
MODES = ("stack-real", "stack-replay", "alone-real", "alone-replay")
SECONDS = 14.0


def region(mode: str) -> None:
    """Run inside perf: record, then count only the mode's region."""
    import proto_plant_bound

    pin_one_core()
    rows, ins, _digest = proto_plant_bound.record("pull", SECONDS)
    ctl = open(os.environ["PERF_CTL"], "w")  # noqa: SIM115 - held for the run
    ack = open(os.environ["PERF_ACK"])  # noqa: SIM115

    def perf(cmd: str) -> None:
        ctl.write(cmd + "\n")
        ctl.flush()
        ack.readline()

    if mode.startswith("stack"):
        del ins
        bench = build_bench(load_workload("pull"), trace=True)
        if mode == "stack-replay":
            replay_plant(bench, rows)
        gc.collect()
        perf("enable")
        bench.run_for(SECONDS)
        perf("disable")
        return
    bench = build_bench(load_workload("pull"), trace=False)
    plant = bench.plant
    inputs, step, update = plant.inputs, plant.step, plant.outputs.update
    dt = bench.rig.step_ns / 1e9
    gc.collect()
    perf("enable")
    if mode == "alone-real":
        for u in ins:
            inputs.update(u)
            step(dt, inputs)
    else:
        for u, row in zip(ins, rows, strict=True):
            inputs.update(u)
            update(row)
    perf("disable")


def count(mode: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        ctl, ack = os.path.join(tmp, "ctl"), os.path.join(tmp, "ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        proc = subprocess.run(
            ["perf", "stat", "-D", "-1", "--control", f"fifo:{ctl},{ack}", "-x,",
             "-e", ",".join(EVENTS), sys.executable, __file__, "--region", mode],
            capture_output=True, text=True, env={**os.environ, "PERF_CTL": ctl, "PERF_ACK": ack})
    out = {}
    for line in proc.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] in EVENTS:
            out[fields[2]] = float(fields[0])
    if len(out) != len(EVENTS):
        raise SystemExit(f"perf stat failed for {mode}:\n{proc.stderr[-1500:]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--region", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.region:
        region(args.region)
        return
    print(f"{machine_line()}; pull {SECONDS:g} s; plant step's share per step (real - replay)")
    steps = SECONDS * 1000
    print(f"{'':7s} {'instructions':>12s} {'cycles':>8s} {'branch-miss':>11s} "
          f"{'L1i-miss':>8s} {'L1d-miss':>8s} {'us':>6s}")
    for _ in range(args.repeat):
        c = {m: count(m) for m in MODES}
        for where in ("stack", "alone"):
            real, rep = c[f"{where}-real"], c[f"{where}-replay"]
            d = {e: (real[e] - rep[e]) / steps for e in EVENTS}
            print(f"{where:7s} {d['instructions']:12.0f} {d['cycles']:8.0f} "
                  f"{d['branch-misses']:11.0f} {d['L1-icache-load-misses']:8.0f} "
                  f"{d['L1-dcache-load-misses']:8.0f} {d['task-clock'] * 1e3:6.1f}")


if __name__ == "__main__":
    main()
