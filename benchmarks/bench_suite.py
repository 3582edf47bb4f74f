"""Suite throughput: the whole SIL scenario suite with ``hil run scenarios/ -n 2`` vs
``-n 0`` — whole-suite wall time of each, and the speed-up.

    .venv/bin/python benchmarks/bench_suite.py [--workers 2] [--paths scenarios/]

Each run is a fresh ``hil run`` process (start-up, collection, every scenario, traces,
plots and reports included: what a user waits for), writing its reports to a temporary
directory. Target (issue 7): -n 2 at least 1.7x faster than -n 0 on these 2-core machines.
The machine's load average is printed: another busy process takes a core from -n 2.
"""

from __future__ import annotations

import argparse
import os
import re
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
    args = parser.parse_args()
    print(machine_line())
    serial, s_summary = suite(args.paths, "0")
    load_mid = os.getloadavg()[0]
    parallel, p_summary = suite(args.paths, args.workers)
    n = len(list(Path(ROOT, "scenarios").rglob("*.yaml")))
    print(f"hil run {' '.join(args.paths)} -n 0: {serial:6.1f} s wall  ({s_summary.strip()})")
    print(f"hil run {' '.join(args.paths)} -n {args.workers}: {parallel:6.1f} s wall  "
          f"({p_summary.strip()})")
    print(f"speed-up -n {args.workers} vs -n 0: {serial / parallel:.2f}x  (target >= 1.7; "
          f"{n} scenario files; load average before the -n {args.workers} run "
          f"{load_mid:.2f})")


if __name__ == "__main__":
    main()
