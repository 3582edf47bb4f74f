"""Memory of a long SIL run with the trace on: peak RSS and trace bytes per frame.

    .venv/bin/python benchmarks/bench_memory.py [--minutes 10] [--workload lap]
    .venv/bin/python benchmarks/bench_memory.py --through-hil-run [--minutes 10]

Runs the workload (default the track lap: the race car lapping in track mode) for
--minutes of simulated time with the trace on, spooled to disk as the scenario runner
does for runs over 2 minutes (hil/run/runner.py), in a fresh process so the peak RSS
(ru_maxrss) is this run's. Reports peak RSS, frames and samples recorded, trace bytes
per frame (frame columns on disk / frames) and per plant sample, and the spool size.
``--in-memory`` runs the same without spooling, for comparison (the sample rows are what
grows: 8 + 8 x quantities bytes per simulated ms). Target (issue 7): < 400 MB peak RSS.

``--through-hil-run`` measures what a user gets (issue 12 item 8): ``hil run`` with its
default outputs (BLF + MF4 traces, plots, result.json, JUnit, allure, summary) on the
workload's scenario stretched to --minutes of simulated time (a copy of the YAML with
``duration:`` changed, in a temporary directory), as a child process: peak RSS of the
child (``resource.getrusage(RUSAGE_CHILDREN)``), the report directory's size, its biggest
files, and whether anything of the trace spool is left. Targets: <= 400 MB peak RSS,
<= 150 MB report directory, no spool left.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _workloads import ROOT, WORKLOADS, build_bench, git_rev, load_workload, machine_line


def child(workload: str, minutes: float, in_memory: bool) -> None:
    scenario = load_workload(workload)
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        spool = None if in_memory else Path(tmp) / "trace"
        bench = build_bench(scenario, trace=True, spool_dir=spool)
        t0 = time.perf_counter()
        bench.run_for(minutes * 60)
        wall = time.perf_counter() - t0
        trace = bench.trace
        trace.flush()
        frames, samples = trace._frames.n, trace._stimes.n
        per_frame = trace._frames.nbytes_per_row()
        per_sample = 8 + 8 * len(trace.quantities)
        in_ram = sum(s.memory_bytes() for s in (trace._frames, trace._fd, trace._stimes,
                                                trace._svalues))
        bench.close()
        spool_bytes = sum(f.stat().st_size for f in spool.iterdir()) if spool else 0
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": wall, "frames": frames, "samples": samples,
                      "bytes_per_frame": per_frame, "bytes_per_sample": per_sample,
                      "trace_in_ram_bytes": in_ram, "spool_bytes": spool_bytes,
                      "peak_rss_mb": rss_kb / 1024}))


def through_hil_run(workload: str, minutes: float) -> None:
    """``hil run`` on the workload's scenario stretched to ``minutes``, default outputs."""
    source = WORKLOADS[workload].read_text(encoding="utf-8")
    text, n = re.subn(r"^duration:.*$", f"duration: {minutes * 60:g} s", source, flags=re.M)
    assert n == 1, "the workload scenario has one duration: line"
    with tempfile.TemporaryDirectory(prefix="bench_memory_hil_run_") as tmp:
        scenario = Path(tmp) / f"{WORKLOADS[workload].stem}_{minutes:g}min.yaml"
        scenario.write_text(text, encoding="utf-8")
        report = Path(tmp) / "report"
        hil = Path(sys.executable).with_name("hil")
        cmd = [str(hil), "run", str(scenario), "--report", str(report), "-q"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode not in (0, 1):
            sys.exit(f"hil run exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        files = sorted(((f.stat().st_size, str(f.relative_to(report)))
                        for f in report.rglob("*") if f.is_file()), reverse=True)
        total = sum(size for size, _ in files)
        spool = [name for _, name in files if ".partial" in name or name.endswith(".bin")]
    print(f"hil run, {minutes:g} min simulated ({workload}), default outputs, exit "
          f"{proc.returncode}, {wall:.0f} s wall, git {git_rev()}:")
    print(f"  peak RSS {rss_mb:.0f} MB (target <= 400 MB); report directory "
          f"{total / 1e6:.1f} MB in {len(files)} files (target <= 150 MB); spool files left: "
          f"{len(spool)}")
    for size, name in files[:5]:
        print(f"    {size / 1e6:8.1f} MB  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workload", choices=("pull", "lap"), default="lap")
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--through-hil-run", action="store_true",
                        help="measure `hil run` with its default outputs instead")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.workload, args.minutes, args.in_memory)
        return
    print(machine_line())
    if args.through_hil_run:
        through_hil_run(args.workload, args.minutes)
        return
    cmd = [sys.executable, __file__, "--child", "--minutes", str(args.minutes),
           "--workload", args.workload, *(["--in-memory"] if args.in_memory else [])]
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True)
                   .stdout.strip().splitlines()[-1])
    mode = "in memory" if args.in_memory else "spooled to disk"
    print(f"{args.minutes:g} min simulated ({args.workload}), trace on, {mode}: "
          f"peak RSS {r['peak_rss_mb']:.0f} MB (target < 400 MB), {r['wall_s']:.0f} s wall")
    print(f"  {r['frames']} frames at {r['bytes_per_frame']} bytes per frame, "
          f"{r['samples']} plant samples at {r['bytes_per_sample']} bytes per sample; "
          f"trace held in RAM at the end {r['trace_in_ram_bytes'] / 1e6:.1f} MB, "
          f"spool {r['spool_bytes'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
