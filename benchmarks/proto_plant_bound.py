"""Prototype, not product: the full stack with a plant that costs (almost) nothing.

    .venv/bin/python benchmarks/proto_plant_bound.py [--repeat 3]

What would a compiled plant (numba, C, Cython) give the full stack at most? This
answers with a measurement instead of a subtraction: the pull and the lap run once
through the full stack (trace on) with the real plant, recording the plant's outputs
after every step; then again with ``plant.step`` replaced by a replay of those outputs
(one ``dict.update`` per step). The loop stays closed and identical (the ECU sees the
same sensor values, so it sends the same commands): the replay run's trace hash must equal
the real run's, which this checks. The replay run's speed is the full stack with a plant
step of ~1 us, the ceiling for any faster plant; for a plant step of X us the full stack
would take (replay figure - replay cost + X) us per simulated ms.
"""

from __future__ import annotations

import argparse
import gc
import time

from _workloads import build_bench, load_workload, machine_line, pin_one_core, replay_plant
from trace_hash import trace_digest


def record(name: str, seconds: float) -> tuple[list[dict], list[dict], str]:
    bench = build_bench(load_workload(name), trace=True)
    plant = bench.plant
    rows: list[dict] = []
    ins: list[dict] = []
    original = plant.step

    def step(dt, inputs=None):
        ins.append(dict(inputs))
        out = original(dt, inputs)
        rows.append(dict(out))
        return out

    plant.step = step
    bench.run_for(seconds)
    digest = trace_digest(bench.trace)[0]
    bench.close()
    return rows, ins, digest


def plant_alone(name: str, ins: list[dict], rows: list[dict]) -> tuple[float, bool]:
    """The same plant, prepared the same way, stepped alone on the recorded inputs: its
    cost outside the stack on the stack's own input sequence (and the same outputs)."""
    bench = build_bench(load_workload(name), trace=False)   # for the prepared plant only
    plant = bench.plant
    inputs = plant.inputs
    step = plant.step
    dt = bench.rig.step_ns / 1e9
    gc.collect()
    elapsed = 0
    same = True
    perf = time.perf_counter_ns
    for u, row in zip(ins, rows, strict=True):
        inputs.update(u)
        t0 = perf()
        out = step(dt, inputs)
        elapsed += perf() - t0
        if same and out != row:
            same = False
    bench.close()
    return elapsed / len(ins) / 1e3, same


def timed(name: str, seconds: float, rows: list[dict] | None) -> tuple[float, str | None]:
    bench = build_bench(load_workload(name), trace=True)
    if rows is not None:
        replay_plant(bench, rows)
    gc.collect()
    t0 = time.perf_counter()
    bench.run_for(seconds)
    wall = time.perf_counter() - t0
    digest = trace_digest(bench.trace)[0]
    bench.close()
    return wall / seconds * 1e3, digest     # us per simulated ms


def replay_cost(rows: list[dict]) -> float:
    out = dict(rows[0])
    update = out.update
    t0 = time.perf_counter()
    for row in rows:
        update(row)
    return (time.perf_counter() - t0) / len(rows) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    pinned = pin_one_core()
    print(f"{machine_line()}; {pinned}; best of {args.repeat}; trace on")
    for name in ("pull", "lap"):
        scenario = load_workload(name)
        seconds = args.seconds or scenario.duration_ns / 1e9
        rows, ins, digest = record(name, seconds)
        alone, same_alone = min(plant_alone(name, ins, rows) for _ in range(args.repeat))
        del ins   # a heap of recorded dicts slows the timed runs down
        real = min(timed(name, seconds, None)[0] for _ in range(args.repeat))
        runs = [timed(name, seconds, rows) for _ in range(args.repeat)]
        free = min(r[0] for r in runs)
        same = all(r[1] == digest for r in runs)
        cost = replay_cost(rows)
        print(f"{name} {seconds:g} s: real plant {real:5.1f} us/ms ({1e3 / real:4.1f}x); "
              f"replayed plant ({cost:.2f} us/step) {free:5.1f} us/ms ({1e3 / free:4.1f}x); "
              f"trace identical: {'yes' if same else 'NO'}")
        print(f"  the real plant costs {real - free + cost:4.1f} us per simulated ms inside the "
              f"stack; everything else {free - cost:4.1f} us (25x needs <= 40 us in total)")
        print(f"  the plant alone on the stack's recorded inputs: {alone:4.1f} us per step "
              f"(outputs identical: {'yes' if same_alone else 'NO'})")


if __name__ == "__main__":
    main()
