"""What ``hil run`` reports as "x real" against bench_sil's figure for the same scenario,
alternating in one run (issue 13 target 2: at least 0.9).

    .venv/bin/python benchmarks/bench_run_vs_sil.py [--rounds 5] [--workloads pull lap]
        [--hil-args ...]

Each round runs, for each workload, ``hil run SCENARIO`` (default outputs: BLF + MF4
traces, plots, reports, into a temporary directory) and ``benchmarks/bench_sil.py
--workloads NAME --trace on --repeat 1`` (the same scenario's closed loop without its
steps and expectations), each a fresh process pinned to the same CPU, in alternating order
(hil run first in even rounds, bench_sil first in odd ones). The ratio is hil run's "x real"
(its table: simulated time over the simulation's wall time, start-up, exports and plots
excluded) over bench_sil's; the figures printed are the per-round ratios, their median and
the ratio of the medians. The wall figures move with the machine's load (printed); the
ratio of two runs seconds apart is what this measures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _workloads import ROOT, WORKLOADS, machine_line

PY = sys.executable


def _pinned(cpu: int):
    def pin() -> None:
        os.sched_setaffinity(0, {cpu})
    return pin


def hil_run(name: str, cpu: int, extra: list[str]) -> float:
    """hil run's "x real" for the scenario: the figure its table prints, read from the
    result.json it writes (``speed``: simulated s over the simulation's wall s)."""
    scenario = WORKLOADS[name]
    with tempfile.TemporaryDirectory(prefix="bench_run_vs_sil_") as report:
        proc = subprocess.run([PY, "-m", "hil", "run", str(scenario.relative_to(ROOT)),
                               "--report", report, "-q", *extra], cwd=ROOT,
                              capture_output=True, text=True, preexec_fn=_pinned(cpu))
        result = Path(report, "scenarios", scenario.stem, "result.json")
        if proc.returncode != 0 or not result.is_file():
            raise SystemExit(f"hil run {scenario}: exit {proc.returncode}:\n"
                             + proc.stdout[-2000:] + proc.stderr[-2000:])
        return float(json.loads(result.read_text())["speed"])


def bench_sil(name: str, cpu: int) -> float:
    proc = subprocess.run([PY, "benchmarks/bench_sil.py", "--workloads", name, "--trace", "on",
                           "--repeat", "1"], cwd=ROOT, capture_output=True, text=True,
                          preexec_fn=_pinned(cpu))
    m = re.search(r"trace on :\s+([\d.]+)x real time", proc.stdout)
    if m is None:
        raise SystemExit(f"bench_sil {name}: no figure (exit {proc.returncode}):\n"
                         + proc.stdout + proc.stderr)
    return float(m.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workloads", nargs="+", choices=tuple(WORKLOADS),
                        default=list(WORKLOADS))
    parser.add_argument("--hil-args", nargs=argparse.REMAINDER, default=[],
                        help="more arguments for hil run (e.g. --trace none --no-plots)")
    args = parser.parse_args()
    cpu = max(os.sched_getaffinity(0))
    print(f"{machine_line()}; both pinned to cpu {cpu}; {args.rounds} alternating rounds")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in args.workloads}
    for r in range(args.rounds):
        for name in args.workloads:
            if r % 2 == 0:
                run = hil_run(name, cpu, args.hil_args)
                sil = bench_sil(name, cpu)
            else:
                sil = bench_sil(name, cpu)
                run = hil_run(name, cpu, args.hil_args)
            runs[name].append((run, sil))
            print(f"round {r + 1} {name:4s}: hil run {run:5.1f}x  bench_sil {sil:5.1f}x  "
                  f"ratio {run / sil:.2f}  (load {os.getloadavg()[0]:.2f})", flush=True)
    for name, pairs in runs.items():
        ratios = [a / b for a, b in pairs]
        med_run = statistics.median(a for a, _ in pairs)
        med_sil = statistics.median(b for _, b in pairs)
        print(f"{name}: hil run / bench_sil per round {min(ratios):.2f}-{max(ratios):.2f}, "
              f"median {statistics.median(ratios):.2f}; medians {med_run:.1f}x / {med_sil:.1f}x "
              f"= {med_run / med_sil:.2f}  (target >= 0.9)")


if __name__ == "__main__":
    main()
