"""``hil replay LOG --rig R``: exact back-to-back test of the ECU runtime against a recording.

Feeds the plant and bench frames of a recorded log (BLF, ASC, candump log, MF4 bus
logging ... read by python-can) open-loop into the rig's ECU runtime, in simulated time,
and compares the ECU outputs it computes with the recorded ones: exact for value tables,
flags and integer signals, one LSB for scaled signals, each output aligned on the trigger
frame it answered (see hil.run.replay). Prints progress and a table with every
mismatching interval; writes replay.json and the replayed ECU frames (replayed_ecu.blf)
to --out. Exit codes: 0 reproduced, 1 not, 2 a bad rig, log or option.
"""

from __future__ import annotations

import argparse
import sys
import time

from hil.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", help="recorded CAN log (.blf, .asc, .log, .mf4, .csv ...)")
    parser.add_argument("--rig", required=True, help="rig file: DBC, ecu_config, calibration")
    parser.add_argument("--calibration", default=None, help="calibration set name or file")
    parser.add_argument("--tolerance", action="append", default=[], metavar="SIGNAL=VALUE",
                        help="value tolerance of one signal, in its unit (repeatable); "
                        "default from the DBC: exact for value tables, flags and integer "
                        "signals, one LSB (the scale) for scaled signals")
    parser.add_argument("--window", type=float, default=None, metavar="MS",
                        help="time-alignment window either side of each output's trigger "
                        "frame or schedule slot, in ms (default: one cycle of its message)")
    parser.add_argument("--skip", type=float, default=0.5,
                        help="seconds at the start not compared (default 0.5: a log that "
                        "starts after the ECU lacks the state it built up)")
    parser.add_argument("--out", default="reports/replay",
                        help="where replay.json and replayed_ecu.blf go (default reports/replay)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


class ProgressPrinter:
    """One line on stderr every few seconds (or per phase): long logs are not silent."""

    def __init__(self, prefix: str, every_s: float = 2.0) -> None:
        self.prefix = prefix
        self.every_s = every_s
        self._last = 0.0
        self._t0 = time.monotonic()

    def __call__(self, what: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.every_s:
            return
        self._last = now
        pct = f" {fraction * 100:3.0f} %" if 0 <= fraction < 1 else ""
        print(f"{self.prefix}: {what}{pct} ({now - self._t0:.1f} s)", file=sys.stderr)


def parse_tolerances(items: list[str]) -> dict[str, float]:
    tolerances = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name.strip() or not number >= 0:
            raise ConfigError(f"--tolerance {item!r}: expected SIGNAL=NUMBER (>= 0)")
        tolerances[name.strip()] = number
    return tolerances


def main(args: argparse.Namespace) -> int:
    from hil.config.rig import load_rig
    from hil.run.replay import replay

    tolerances = parse_tolerances(args.tolerance)
    if args.skip < 0:
        raise ConfigError(f"--skip must be >= 0, got {args.skip:g}")
    if args.window is not None and not 0 <= args.window < 10_000:
        raise ConfigError(f"--window must be in [0, 10000) ms, got {args.window:g}")
    rig = load_rig(args.rig)
    report = replay(args.log, rig, calibration=args.calibration, tolerances=tolerances,
                    skip_s=args.skip, window_ms=args.window, out_dir=args.out,
                    progress=None if args.quiet else ProgressPrinter("hil replay"))
    print(report.table())
    print(f"report: {args.out}/replay.json, replayed ECU frames: {args.out}/replayed_ecu.blf")
    return 0 if report.passed else 1
