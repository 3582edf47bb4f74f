"""``hil preflight``: is this wall-clock rig fit to run scenarios?

Runs the rig's plant node against the ECU on the wire for a moment and prints a
table: bus, traffic, the loop closing, each ECU message's cycle time and E2E
(counters, CRCs), physical sanity of the values, and the rig self-test (the bench's
pacing: lateness p50 / p99 / max, overruns; a rig that cannot hold 1 ms timing is
told so — its 1 ms timing expectations will be INCONCLUSIVE). Exit codes: 0 passed
(warnings allowed), 1 a check failed, 2 a rig mistake or a bus that cannot be opened.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig", required=True, help="rig file (e.g. rigs/udp.yaml)")
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
    report = run_preflight(rig, seconds=args.seconds, realtime=not args.no_realtime)
    print(report.table())
    return 0 if report.passed else 1
