"""``hil preflight``: is this wall-clock rig fit to run scenarios?

Runs the rig's plant node against the ECU on the wire for a moment and prints a
table: bus, traffic, the loop closing, each ECU message's cycle time and E2E
(counters, CRCs), physical sanity of the values, and the rig self-test (the bench's
pacing: lateness p50 / p99 / max, overruns). The self-test FAILS when the pacing cannot
resolve the tightest timing bound of the scenarios named (``hil preflight --rig R
scenarios/``), or the rig's step when none is named. Exit codes: 0 passed (warnings
allowed), 1 a check failed, 2 a rig mistake or a bus that cannot be opened.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig", required=True, help="rig file (e.g. rigs/udp.yaml)")
    parser.add_argument("scenarios", nargs="*", default=[],
                        help="scenario files or directories: the self-test must resolve "
                        "their tightest timing bound (default: the rig's step)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="how long to run and listen (default: the rig's preflight.listen, "
                        "else 1.5 s)")
    parser.add_argument("--channel", default=None, help="override the rig's bus channel")
    parser.add_argument("--port", type=int, default=None,
                        help="override the rig's bus port (udp_multicast)")
    parser.add_argument("--no-realtime", action="store_true",
                        help="no SCHED_FIFO / CPU affinity for the self-test")


def main(args: argparse.Namespace) -> int:
    from hil.bench.preflight import run_preflight
    from hil.config.rig import load_rig

    rig = load_rig(args.rig)
    if rig.clock != "wall":
        raise rig.error("clock", f"rig {rig.name}: preflight is for wall-clock rigs "
                        "(clock: wall); the SIL rig needs none")
    if args.channel is not None:
        rig.bus["channel"] = args.channel
    if args.port is not None:
        rig.bus["port"] = args.port
    bound = _tightest_bound(args.scenarios) if args.scenarios else None
    if args.scenarios and bound is None:
        bound = 0    # scenarios without a timing bound: nothing for the self-test to resolve
    report = run_preflight(rig, seconds=args.seconds, realtime=not args.no_realtime,
                           timing_bound_ns=bound)
    print(report.table())
    return 0 if report.passed else 1


def _tightest_bound(paths: list[str]) -> int | None:
    """The tightest timing bound of the YAML scenarios at ``paths`` (files or directories),
    None when they have none; a bad scenario is its one-line error (exit 2)."""
    from pathlib import Path

    from hil.bench.base import tightest_timing_bound_ns
    from hil.errors import ConfigError
    from hil.run.pytest_plugin import looks_like_scenario
    from hil.run.runner import load

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():   # the scenarios hil run would collect there (not search specs)
            files += sorted(p for p in path.rglob("*.y*ml") if looks_like_scenario(p))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{raw}: no such scenario file or directory")
    bounds = [b for f in files
              if (b := tightest_timing_bound_ns(load(f).expect)) is not None]
    return min(bounds) if bounds else None
