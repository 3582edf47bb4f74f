"""The ``hil`` command: one module per subcommand.

A user mistake (a bad rig, scenario, DBC or calibration) is printed as one line,
``file:line:col: message``, and exits 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from hil import __version__
from hil.errors import HilError

#: When this process started running the command (before the command's imports):
#: ``hil run``'s table reports the start-up from here.
STARTED = time.perf_counter()

# name -> (module, one-line help); modules are imported only when their command runs,
# so `hil --help` stays fast.
SUBCOMMANDS = {
    "run": ("hil.cli.run", "run scenarios (the main job): progress, summary, reports"),
    "demo": ("hil.cli.demo", "run the closed loop (plants + n.Tec controllers) and summarise it"),
    "dbc": ("hil.cli.dbc", "show the wire contract: messages, cycle times, bus load"),
    "ecu": ("hil.cli.ecu", "run the n.Tec controllers as an ECU emulator on a rig's bus"),
    "preflight": ("hil.cli.preflight", "check a wall-clock rig: bus, ECU messages, E2E, "
                  "sanity, pacing"),
    "coverage": ("hil.cli.coverage", "which cells of the calibration maps the suite exercised: "
                 "table, heatmaps"),
    "plan": ("hil.cli.plan", "propose dyno operating points for the unvisited map cells, as "
             "scenarios"),
    "sweep": ("hil.cli.sweep", "run a grid or seeded sample of scenario variants on Dask: "
              "table, heatmap"),
    "replay": ("hil.cli.replay", "feed a recorded log into the ECU runtime and compare its "
               "outputs (back-to-back)"),
    "check": ("hil.cli.check", "judge a recorded trace (BLF, ASC, log, MF4) against a "
              "scenario's expectations, offline"),
    "search": ("hil.cli.search", "search fault sequences that break a scenario's properties "
               "and shrink the failure to a replayable scenario"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hil", description="n.Tec HIL bench: scenarios against physics plants and the "
        "n.Tec controllers, in simulated time (SIL) or on real CAN buses.")
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(_module=module)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks instead of one-line errors")
        try:
            importlib.import_module(module).add_arguments(sp)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            sp.description = f"{help_text} (not available in this build)"
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        module = importlib.import_module(args._module)
        return int(module.main(args) or 0)
    except HilError as exc:
        if args.debug:
            raise
        print(f"hil: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # hil.run.interrupt.Interrupted knows its signal (143 for SIGTERM); Ctrl-C is 130.
        print("hil: interrupted", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))


if __name__ == "__main__":
    sys.exit(main())
