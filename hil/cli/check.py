"""``hil check TRACE --scenario S.yaml``: judge a recorded trace against a scenario.

Evaluates the scenario's expectations (always, never, eventually, latency, period, value,
settle on DBC signals) on a recorded BLF, ASC, candump log or MF4 bus logging, decoded
through the rig's DBC (or --dbc), without playing its steps: offline judging of what a
bench, `hil ecu`, `python -m can.logger`, CANoe or a vehicle recorded (see hil.run.check).
Writes the same report files as `hil run` (result.json, plots, summary.html, junit.xml)
to --report. Exit codes: 0 passed, 1 failed or inconclusive, 2 a bad trace, scenario,
rig, DBC or option.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", help="recorded CAN log (.blf, .asc, .log, .mf4 ...)")
    parser.add_argument("--scenario", required=True, help="scenario file whose expectations "
                        "judge the trace")
    parser.add_argument("--rig", default=None, help="rig file (default: the scenario's rig:, "
                        "else rigs/sil.yaml): its DBC and names")
    parser.add_argument("--dbc", default=None, help="decode with this DBC instead of the rig's")
    parser.add_argument("--start", default="first", metavar="WHEN",
                        help="the scenario's t=0 in the trace: 'first' (default: the log's "
                        "t=0, its first frame for a wall-clock log), 'last-segment' (where "
                        "the plant's fastest message last restarted after a pause: a "
                        "`hil run` on a wall rig, after its preflight) or seconds into the log")
    parser.add_argument("--report", default="reports/check",
                        help="report directory (default reports/check)")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _junit(result, path: Path) -> None:
    from xml.sax.saxutils import escape, quoteattr

    from hil.trace.files import atomic_output

    status = result.status
    body = ""
    if status == "fail":
        body = (f"<failure message={quoteattr('expectations failed')}>"
                f"{escape(result.failure_text())}</failure>")
    elif status == "inconclusive":
        body = f"<skipped message={quoteattr('INCONCLUSIVE: ' + result.failure_text())}/>"
    text = ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<testsuites><testsuite name="hil check" tests="1" '
            f'failures="{int(status == "fail")}" skipped="{int(status == "inconclusive")}">'
            f'<testcase classname="hil.check" name={quoteattr(result.scenario.name)} '
            f'time="{result.wall_s:.3f}">{body}</testcase></testsuite></testsuites>\n')
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def main(args: argparse.Namespace) -> int:
    from hil.cli.replay import ProgressPrinter
    from hil.report.html import write_summary
    from hil.run.check import check_table, check_trace

    report = Path(args.report)
    result = check_trace(args.trace, args.scenario, rig=args.rig, dbc=args.dbc,
                         start=args.start, report_dir=report, plots=not args.no_plots,
                         progress=None if args.quiet else ProgressPrinter("hil check"))
    write_summary([result.summary()], report)
    _junit(result, report / "junit.xml")
    print(check_table(result))
    print(f"report: {report / 'summary.html'}, {result.artifacts.get('result')}")
    return 0 if result.status == "pass" else 1
