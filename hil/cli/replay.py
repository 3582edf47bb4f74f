"""``hil replay LOG --rig R``: back-to-back test of the ECU runtime against a recording.

Feeds the plant and bench frames of a recorded log (BLF, ASC, candump log ... read by
python-can) open-loop into the rig's ECU runtime, in simulated time, and compares
the ECU outputs it produces with the recorded ones within tolerance bands (see
hil.run.replay). Prints a table; writes replay.json and the replayed ECU frames
(replayed_ecu.blf) to --out. Exit codes: 0 reproduced, 1 not, 2 a bad rig or log.
"""

from __future__ import annotations

import argparse

from hil.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", help="recorded CAN log (.blf, .asc, .log, .csv ...)")
    parser.add_argument("--rig", required=True, help="rig file: DBC, ecu_config, calibration")
    parser.add_argument("--calibration", default=None, help="calibration set name or file")
    parser.add_argument("--tolerance", action="append", default=[], metavar="SIGNAL=VALUE",
                        help="value tolerance of one signal (repeatable); default 2 LSB + "
                        "0.5 %% of its recorded span")
    parser.add_argument("--skip", type=float, default=0.5,
                        help="seconds at the start not compared (default 0.5)")
    parser.add_argument("--min-match", type=float, default=0.99,
                        help="fraction of samples per signal that must match (default 0.99)")
    parser.add_argument("--out", default="reports/replay",
                        help="where replay.json and replayed_ecu.blf go (default reports/replay)")


def main(args: argparse.Namespace) -> int:
    from hil.config.rig import load_rig
    from hil.run.replay import replay

    tolerances = {}
    for item in args.tolerance:
        name, _, value = item.partition("=")
        try:
            tolerances[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--tolerance {item!r}: expected SIGNAL=NUMBER") from None
    if not 0 < args.min_match <= 1:
        raise ConfigError("--min-match must be in (0, 1]")
    report = replay(args.log, load_rig(args.rig), calibration=args.calibration,
                    tolerances=tolerances, skip_s=args.skip, min_match=args.min_match,
                    out_dir=args.out)
    print(report.table())
    print(f"report: {args.out}/replay.json, replayed ECU frames: {args.out}/replayed_ecu.blf")
    return 0 if report.passed else 1
