"""``hil ecu``: the n.Tec controllers as an ECU emulator process on a rig's bus.

The ECU runtime and the controllers are the SIL ones, unchanged, on the wall
clock. It runs until stopped (SIGINT / SIGTERM) or for ``--seconds``; on the way
out it prints its counters (frames, rx errors, pacing and overruns, task runs and
execution times against their budgets) and writes its trace. Exit codes: 0 after a
clean stop, 2 for a rig mistake or a bus that cannot be opened.
"""

from __future__ import annotations

import argparse
import signal
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rig", required=True, help="rig file (e.g. rigs/udp.yaml)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds (default: run until SIGINT/SIGTERM)")
    parser.add_argument("--ecu-config", default=None,
                        help="override the rig's ecu_config (which controllers run, timeouts)")
    parser.add_argument("--calibration", default=None,
                        help="calibration set name or file (default: the rig's / ecu.yaml's)")
    parser.add_argument("--channel", default=None,
                        help="override the rig's bus channel (e.g. another multicast group)")
    parser.add_argument("--port", type=int, default=None,
                        help="override the rig's bus port (udp_multicast)")
    parser.add_argument("--trace-dir", default="reports/ecu",
                        help="where the ECU's trace is written on exit (default reports/ecu)")
    parser.add_argument("--trace", default="blf",
                        help="trace formats written on exit: blf, asc, mf4, log, csv or none "
                        "(comma-separated; default blf)")
    parser.add_argument("--no-realtime", action="store_true",
                        help="no SCHED_FIFO / CPU affinity (the gc is still frozen)")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU when permitted")


def main(args: argparse.Namespace) -> int:
    from hil.bench.emulator import EcuEmulator
    from hil.config.rig import load_rig

    rig = load_rig(args.rig)
    if args.ecu_config is not None:
        from pathlib import Path

        rig.ecu_config = Path(args.ecu_config).resolve()
    if args.channel is not None:
        rig.bus["channel"] = args.channel
    if args.port is not None:
        rig.bus["port"] = args.port
    formats = () if args.trace in ("", "none") else tuple(
        f.strip() for f in args.trace.split(",") if f.strip())
    emulator = EcuEmulator(rig, calibration=args.calibration, trace=bool(formats),
                           realtime=not args.no_realtime, cpu=args.cpu)
    previous = {sig: signal.signal(sig, emulator.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"hil ecu: {rig.name}: {rig.bus.get('interface')} {rig.bus.get('channel')} "
          f"running ({'until SIGINT/SIGTERM' if args.seconds is None else f'{args.seconds:g} s'})",
          file=sys.stderr, flush=True)
    written = []
    try:
        emulator.run(args.seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print(f"hil ecu: realtime: {emulator.realtime_policy}", flush=True)
        print(emulator.counters_text(), flush=True)
        written = emulator.close(args.trace_dir, formats)
    for path in written:
        print(f"hil ecu: trace {path}", flush=True)
    return 0
