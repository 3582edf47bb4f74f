"""This checkout against a baseline commit, side by side in one run: full-stack SIL speed
of the pull and the lap (bench_sil's workloads), wall clock and, optionally, instructions.

    .venv/bin/python benchmarks/bench_vs_baseline.py [--baseline 9b63a77] [--rounds 3]
        [--seconds 6] [--callgrind]

The baseline is checked out into a temporary git worktree (removed afterwards) and run
with this venv's interpreter, its own ``hil``/``plants``/``controllers`` first on the path
(each child process checks that it imported the tree it measures). Rounds alternate
baseline and head, so a neighbour's load hits both alike; each cell is the best of the
rounds, and the ratio column is head / baseline in x real time (above 1: head is faster).

``--callgrind`` adds instruction counts under ``valgrind --tool=callgrind``: repeatable
whatever the machine is doing. Each workload runs twice per tree (``--seconds`` and half
of it); the difference divided by the simulated milliseconds between them is the
instructions per simulated millisecond of the loop alone, without interpreter start-up,
imports and set-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("pull", "lap")

CHILD = r"""
import gc, json, os, sys, time
from pathlib import Path
tree = Path(os.environ["NTEC_TREE"]).resolve()
sys.path.insert(0, str(tree / "benchmarks"))
sys.path.insert(0, str(tree))
import hil
assert Path(hil.__file__).resolve().is_relative_to(tree), (hil.__file__, tree)
from _workloads import build_bench, load_workload
scenario = load_workload(sys.argv[1])
seconds = float(sys.argv[2])
bench = build_bench(scenario, trace=True)
gc.collect()
t0 = time.perf_counter()
bench.run_for(seconds)
wall = time.perf_counter() - t0
bench.close()
print(json.dumps({"x_real": seconds / wall}))
"""


def child(tree: Path, workload: str, seconds: float, callgrind: bool = False) -> float:
    """x real time of one run, or its total instruction count under callgrind."""
    env = dict(os.environ, NTEC_TREE=str(tree), PYTHONHASHSEED="0")
    cmd = [sys.executable, "-c", CHILD, workload, repr(seconds)]
    with tempfile.TemporaryDirectory() as tmp:
        if callgrind:
            out = Path(tmp) / "callgrind.out"
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{tree}: {workload} failed:\n{proc.stderr[-2000:]}")
        if not callgrind:
            return float(json.loads(proc.stdout.strip().splitlines()[-1])["x_real"])
        for line in out.read_text().splitlines():
            if line.startswith("totals:") or line.startswith("summary:"):
                return float(line.split()[1])
    sys.exit(f"{tree}: no callgrind totals for {workload}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="9b63a77", help="commit to compare against")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (wall clock)")
    parser.add_argument("--seconds", type=float, default=6.0, help="simulated s per run")
    parser.add_argument("--callgrind", action="store_true",
                        help="also count instructions per simulated ms (slow: ~50x)")
    args = parser.parse_args()
    if args.callgrind and shutil.which("valgrind") is None:
        sys.exit("--callgrind needs valgrind on PATH")
    head_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="ntec-baseline-") as tmp:
        base = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.baseline],
                       cwd=ROOT, check=True)
        try:
            trees = {f"baseline {args.baseline}": base, f"head {head_rev}": ROOT}
            load = os.getloadavg()[0]
            print(f"{len(os.sched_getaffinity(0))} cpus, load average {load:.2f}; "
                  f"{args.rounds} alternating rounds of {args.seconds:g} simulated s, trace on")
            best: dict[tuple[str, str], float] = {}
            for r in range(args.rounds):
                for label, tree in trees.items():
                    for w in WORKLOADS:
                        x = child(tree, w, args.seconds)
                        best[label, w] = max(best.get((label, w), 0.0), x)
                        print(f"  round {r + 1} {label:22s} {w:4s} {x:6.2f}x real time",
                              flush=True)
            (bl, hl) = trees
            print(f"\n{'workload':8s} {bl:>22s} {hl:>22s}  head/baseline")
            for w in WORKLOADS:
                b, h = best[bl, w], best[hl, w]
                print(f"{w:8s} {b:21.2f}x {h:21.2f}x  {h / b:6.2f}")
            if args.callgrind:
                lo, hi = args.seconds / 2, args.seconds
                print(f"\ninstructions per simulated ms (callgrind, {hi:g} s minus {lo:g} s)")
                per: dict[tuple[str, str], float] = {}
                for label, tree in trees.items():
                    for w in WORKLOADS:
                        d = child(tree, w, hi, True) - child(tree, w, lo, True)
                        per[label, w] = d / ((hi - lo) * 1000)
                print(f"{'workload':8s} {bl:>22s} {hl:>22s}  head/baseline")
                for w in WORKLOADS:
                    b, h = per[bl, w], per[hl, w]
                    print(f"{w:8s} {b:22,.0f} {h:22,.0f}  {h / b:6.3f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False)


if __name__ == "__main__":
    main()
