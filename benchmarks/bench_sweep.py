"""``hil sweep`` on a LocalCluster of 2 workers against 1 (issue 15: at least 1.7x), in
alternating rounds.

    .venv/bin/python benchmarks/bench_sweep.py [--rounds 3] [--spec sweeps/rpm_throttle.yaml]

Each round runs ``hil sweep SPEC --workers 2 -q`` and ``--workers 1 -q`` (order alternating
between rounds), each a fresh process writing into a temporary report directory. Two walls
per run: the whole command as a user waits for it (interpreter, imports, spec check,
cluster start and close, tables, heatmap, HTML) and the one ``hil sweep`` prints (from
loading the spec to the last row: the check, the cluster's start and the points). The
speed-up is 1-worker wall over 2-worker wall, per round and over the means. The machine's
load average is printed with each run: a neighbour on one of two cores takes it from the
2-worker run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from _workloads import ROOT, machine_line

HIL = [sys.executable, "-m", "hil", "sweep"]


def sweep(spec: str, workers: int) -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as report:
        t0 = time.perf_counter()
        proc = subprocess.run([*HIL, spec, "--workers", str(workers), "-q", "--report", report],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    m = re.search(r"(\d+) of (\d+) run\(s\) passed in ([\d.]+) s wall", proc.stdout)
    if m is None:
        raise SystemExit(f"hil sweep --workers {workers}: exit {proc.returncode}\n"
                         + proc.stdout[-2000:] + proc.stderr[-2000:])
    return wall, float(m.group(3)), f"{m.group(1)} of {m.group(2)} passed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spec", default="sweeps/rpm_throttle.yaml")
    args = parser.parse_args()
    print(f"{machine_line()}; {args.rounds} alternating rounds of hil sweep {args.spec}")
    walls: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for r in range(args.rounds):
        for workers in ((2, 1) if r % 2 == 0 else (1, 2)):
            whole, printed, passed = sweep(args.spec, workers)
            walls[workers].append((whole, printed))
            print(f"round {r + 1}: --workers {workers}: {whole:6.1f} s whole command, "
                  f"{printed:6.1f} s printed ({passed}; load {os.getloadavg()[0]:.2f})",
                  flush=True)
    for k, what in ((0, "whole command"), (1, "printed wall")):
        one = [w[k] for w in walls[1]]
        two = [w[k] for w in walls[2]]
        pairs = [a / b for a, b in zip(one, two, strict=True)]
        print(f"{what}: 1 worker mean {statistics.mean(one):.1f} s, 2 workers mean "
              f"{statistics.mean(two):.1f} s: {statistics.mean(one) / statistics.mean(two):.2f}x "
              f"over the means (per round {min(pairs):.2f}-{max(pairs):.2f}x; best-of "
              f"{min(one) / min(two):.2f}x; target >= 1.7)")


if __name__ == "__main__":
    main()
