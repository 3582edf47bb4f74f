"""Start-up cost of ``hil run`` on one scenario, from a fresh interpreter.

    .venv/bin/python benchmarks/bench_startup.py [--scenario scenarios/timing/fast_message_period.yaml] [--repeat 3]

Rows (best of --repeat, each a new process):
  python -c pass              the interpreter alone
  hil --help                  the CLI front (subcommands import lazily)
  import hil.bench            what a SIL run must import (numpy, cantools, python-can, simpy)
  hil run SCENARIO            the whole command, default reports (traces, plot, HTML)
  hil run ... --trace none --no-plots   the same without trace files and plot
and the scenario's own simulated-run wall time as ``hil run`` prints it, so
start-up = whole command - that. ``-X importtime`` of the whole command lists the
heaviest imports (cumulative, top-level packages).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time

from _workloads import ROOT, machine_line

PY = sys.executable


def wall(cmd: list[str], repeat: int) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench_startup_") as report:
            argv = [a.replace("{report}", report) for a in cmd]
            t0 = time.perf_counter()
            proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
            dt = time.perf_counter() - t0
        if dt < best:
            best, out = dt, proc.stdout + proc.stderr
    return best, out


def heaviest_imports(cmd: list[str], top: int = 8) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as report:
        argv = [PY, "-X", "importtime", *[a.replace("{report}", report) for a in cmd[1:]]]
        err = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) == 1:  # top-level imports only
            rows.append((m.group(3), int(m.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/timing/fast_message_period.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine_line())
    run = [PY, "-m", "hil", "run", args.scenario, "--report", "{report}"]
    rows = {
        "python -c pass": [PY, "-c", "pass"],
        "hil --help": [PY, "-m", "hil", "--help"],
        "import hil.bench": [PY, "-c", "import hil.bench"],
        f"hil run {args.scenario}": run,
        "  ... --trace none --no-plots": [*run, "--trace", "none", "--no-plots"],
    }
    sim_wall = None
    for label, cmd in rows.items():
        best, out = wall(cmd, args.repeat)
        m = re.search(r"PASS\s+([\d.]+)\s+([\d.]+)", out)
        extra = ""
        if m and sim_wall is None:
            sim_wall = float(m.group(2))
        if m:
            extra = (f"   (scenario run {float(m.group(2)):.2f} s of it: start-up and "
                     f"reports {best - float(m.group(2)):.2f} s)")
        print(f"{label:52s} {best:6.2f} s{extra}")
    print("heaviest top-level imports of `hil run` (cumulative s): " + ", ".join(
        f"{name} {s:.2f}" for name, s in heaviest_imports(run)))


if __name__ == "__main__":
    main()
