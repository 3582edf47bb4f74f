"""Run every benchmark in this folder, one after the other, and print their figures.

    .venv/bin/python benchmarks/run_all.py [--quick] [SCRIPT ...]

Benchmarks measure wall-clock speed on this machine; they are never part of the test
gate. Each script prints the command that reproduces its figures; RESULTS.md holds the
last full run with the machine it ran on. Issue 7's figures: bench_sil (full-stack SIL
speed), bench_overhead (framework vs bare loop), bench_suite (hil run -n 2 vs -n 0),
bench_memory (10-minute run, peak RSS, trace bytes per frame), bench_codec (compiled vs
cantools), bench_pacing (1 kHz wall clock, 60 s run), bench_startup (hil run start-up).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script -> (full arguments, quick arguments)
BENCHMARKS = {
    "bench_codec.py": ([], ["--number", "2000", "--repeat", "3"]),
    "bench_bus.py": ([], ["--seconds", "2"]),
    "bench_plant.py": ([], []),
    "bench_trace.py": ([], ["--minutes", "1"]),
    "bench_sil.py": ([], ["--seconds", "5", "--repeat", "1"]),
    "bench_overhead.py": ([], ["--seconds", "3", "--repeat", "1"]),
    "bench_memory.py": ([], ["--minutes", "1"]),
    "bench_startup.py": ([], ["--repeat", "1"]),
    "bench_suite.py": ([], ["--paths", "scenarios/safety"]),
    "bench_run_vs_sil.py": ([], ["--rounds", "1"]),
    "bench_peer.py": ([], ["--seconds", "2", "--rounds", "1"]),
    "bench_sweep.py": ([], ["--rounds", "1"]),
    "bench_pacing.py": ([], ["--seconds", "2", "--long", "0"]),
    "bench_udp_latency.py": ([], []),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher figures")
    parser.add_argument("only", nargs="*", help="run only these scripts")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from _workloads import machine_info

    print(machine_info(), flush=True)
    failed = []
    for script, (full, quick) in BENCHMARKS.items():
        if args.only and script not in args.only and script.removesuffix(".py") not in args.only:
            continue
        path = HERE / script
        if not path.exists():
            continue
        cmd = [sys.executable, str(path), *(quick if args.quick else full)]
        print(f"\n$ {' '.join(cmd)}", flush=True)
        if subprocess.call(cmd) != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
