"""Suite throughput: the whole SIL scenario suite with ``hil run scenarios/ -n 2`` vs
``-n 0`` — whole-suite wall time of each, and the speed-up.

    .venv/bin/python benchmarks/bench_suite.py [--workers 2] [--paths scenarios/] [--rounds 1]

Each run is a fresh ``hil run`` process (start-up, collection, every scenario, traces,
plots and reports included: what a user waits for), writing its reports to a temporary
directory. Target (issue 7): -n 2 at least 1.7x faster than -n 0 on these 2-core machines.
The machine's load average is printed: another busy process takes a core from -n 2.
With ``--rounds N`` the two alternate (``-n 0`` first in odd rounds, ``-n 2`` first in even
ones) and the speed-up is given per round and over the means.
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
from pathlib import Path

from _workloads import ROOT, machine_line

HIL = [sys.executable, "-m", "hil", "run"]


def suite(paths: list[str], workers: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="bench_suite_") as report:
        t0 = time.perf_counter()
        proc = subprocess.run([*HIL, *paths, "-n", workers, "-q", "--report", report],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    lines = proc.stdout.splitlines()
    summary = [ln for ln in lines if re.search(r"scenarios? passed|failed", ln)]
    for ln in lines:
        if ln.startswith("FAILED") or ln.startswith("ERROR"):
            print(f"  ({ln.strip()})")
    return wall, (summary[-1] if summary else f"exit {proc.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="2")
    parser.add_argument("--paths", nargs="*", default=["scenarios/"])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(machine_line())
    n = len(list(Path(ROOT, "scenarios").rglob("*.yaml")))
    paths = " ".join(args.paths)
    runs: dict[str, list[float]] = {"0": [], args.workers: []}
    for r in range(args.rounds):
        for workers in (("0", args.workers) if r % 2 == 0 else (args.workers, "0")):
            load = os.getloadavg()[0]
            wall, summary = suite(args.paths, workers)
            runs[workers].append(wall)
            print(f"hil run {paths} -n {workers}: {wall:6.1f} s wall  ({summary.strip()}; "
                  f"load average before {load:.2f})", flush=True)
    serial, parallel = runs["0"], runs[args.workers]
    pairs = [a / b for a, b in zip(serial, parallel, strict=True)]
    print(f"speed-up -n {args.workers} vs -n 0: "
          f"{statistics.mean(serial) / statistics.mean(parallel):.2f}x over the means "
          f"({statistics.mean(serial):.1f} s / {statistics.mean(parallel):.1f} s; per round "
          f"{min(pairs):.2f}-{max(pairs):.2f}x; target >= 1.8; {n} scenario files)")


if __name__ == "__main__":
    main()
