"""A hash of the full-stack trace of the pull and the lap: proof that a speed change (or a
compiled / ported prototype) leaves the simulation bit-identical.

    .venv/bin/python benchmarks/trace_hash.py [--seconds S]

Runs each workload of ``_workloads.py`` for its scenario's duration (or ``--seconds``) with
the trace on and prints a SHA-256 over every frame (times, id, dlc, data, sender, flags)
and every plant sample (time and all quantities, as float64 bytes). Compare the line
before and after a change; equal hashes mean the same frames at the same nanoseconds and
the same plant trajectory to the last bit.
"""

from __future__ import annotations

import argparse

from _workloads import build_bench, load_workload

from hil.trace.digest import trace_digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("workloads", nargs="*", default=["pull", "lap"])
    args = parser.parse_args()
    for name in args.workloads:
        scenario = load_workload(name)
        seconds = args.seconds or scenario.duration_ns / 1e9
        bench = build_bench(scenario, trace=True)
        bench.run_for(seconds)
        digest, frames, samples = trace_digest(bench.trace)
        bench.close()
        print(f"{name} {seconds:g} s: sha256 {digest}  ({frames} frames, {samples} samples)")


if __name__ == "__main__":
    main()
