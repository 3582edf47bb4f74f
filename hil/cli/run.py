"""``hil run``: the main job — run scenarios, show progress, summarise, write reports.

A thin front over the pytest plugin: the same items, the same verdicts as
``pytest scenarios/``, with the report options filled in. Exit codes: 0 all
passed, 1 some failed, 2 usage or input error (a bad scenario, rig, DBC or
calibration file, nothing to run, or the report directory in use by another
``hil run``), 130 / 143 stopped by SIGINT / SIGTERM (:mod:`hil.run.interrupt`: the
interrupted scenario's trace so far, result.json, JUnit and summary entries are written).

The report directory holds one run (:mod:`hil.cli.run_dir`): a run locks it, removes the
previous run's outputs first (listed on stderr) and writes its own.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="scenario files or directories (default: scenarios/)")
    parser.add_argument("--rig", default=None, help="rig file for every scenario "
                        "(default: each scenario's rig:, else rigs/sil.yaml)")
    parser.add_argument("-n", dest="workers", default="0",
                        help="parallel workers (pytest-xdist): a number or 'auto' (default 0)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the scenarios as tasks on an existing Dask cluster "
                        "(tcp://host:port): the same reports as -n; workers need the "
                        "project installed and the paths on a shared file system "
                        "(docs/calibration-workflow.md)")
    parser.add_argument("-k", dest="keyword", default=None,
                        help="only scenarios matching this pytest -k expression (names, tags)")
    parser.add_argument("-m", dest="markexpr", default=None,
                        help="only scenarios whose tags match this pytest -m expression")
    parser.add_argument("--report", default="reports", help="report directory (default reports/)")
    parser.add_argument("--trace", default="blf,mf4",
                        help="trace formats per scenario (blf, asc, mf4, csv, log, none; "
                        "native keeps the bench's own trace directory, trace/)")
    parser.add_argument("--no-plots", action="store_true",
                        help="write no PNG plots (scenario plots and coverage heatmaps)")
    parser.add_argument("--margins", nargs="?", type=int, const=10, default=0, metavar="N",
                        help="list the N smallest robustness margins of the suite after the "
                        "run (default 10; docs/search.md explains margins)")
    parser.add_argument("-q", "--quiet", action="store_true", help="less output")
    parser.add_argument("-x", "--exitfirst", action="store_true",
                        help="stop at the first failed scenario")
    parser.add_argument("--changed-since", default=None, metavar="OLD",
                        help="run only the scenarios a calibration change can affect: OLD is "
                        "the previous calibration file, or a git revision (REV, or "
                        "REV:path) of each scenario's calibration; uses the coverage index "
                        "of --report (docs/calibration-workflow.md)")


def pytest_args(args: argparse.Namespace, paths: list[str] | None = None) -> list[str]:
    paths = paths or args.paths or ["scenarios/"]
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(p)
    report = Path(args.report)
    # hil is imported before pytest loads the plugin, so it cannot be assert-rewritten;
    # the plugin asserts nothing, so the warning is noise.
    # Hypothesis' pytest plugin (installed with the test extras) costs ~0.9 s of imports
    # at start-up and has nothing to do with scenarios; neither have doctest and pastebin.
    # The unraisable-exception plugin runs two full garbage collections of the whole heap
    # at exit to turn an exception in a __del__ into a warning; Python's own hook prints it.
    out = [*paths, "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:doctest",
           "-p", "no:pastebin", "-p", "no:unraisableexception", "-o", "testpaths=",
           "-rN",
           "-W", "ignore::pytest.PytestAssertRewriteWarning",
           f"--hil-report={report}", f"--hil-trace={args.trace}",
           f"--junitxml={report / 'junit.xml'}"]
    if importlib.util.find_spec("allure_pytest") is not None:
        out.append(f"--alluredir={report / 'allure-results'}")
    if args.rig:
        out.append(f"--rig={args.rig}")
    if args.workers not in ("0", 0):
        out += ["-n", str(args.workers)]
    if getattr(args, "scheduler", None):
        out.append(f"--hil-scheduler={args.scheduler}")
    if args.keyword:
        out += ["-k", args.keyword]
    if args.markexpr:
        out += ["-m", args.markexpr]
    if args.no_plots:
        out.append("--hil-no-plots")
    if getattr(args, "margins", 0):
        out.append(f"--hil-margins={args.margins}")
    if args.exitfirst:
        out.append("-x")
    out.append("-q" if args.quiet else "-v")
    return out


_DURATION = re.compile(r"^duration:[ \t]*['\"]?([^'\"#\n]*?)['\"]?[ \t]*(?:#.*)?$", re.M)


def simulated_seconds(files: list[Path]) -> float | None:
    """The simulated time of these scenario files in all, from each file's top-level
    ``duration:`` line (a cheap scan, not a load: the load checks the files properly);
    ``None`` when one of them does not say (a Python scenario, an unusual layout)."""
    from hil.config.units import UnitError, parse_time_ns

    total = 0
    for f in files:
        try:
            match = _DURATION.search(f.read_text(encoding="utf-8")) if f.suffix != ".py" \
                else None
            if match is None:
                return None
            total += parse_time_ns(match.group(1))
        except (OSError, UnicodeError, UnitError):
            return None
    return total / 1e9


def main(args: argparse.Namespace) -> int:
    import pytest

    if getattr(args, "margins", 0) < 0:
        print(f"hil run: error: --margins expects a count >= 1, got {args.margins}",
              file=sys.stderr)
        return 2
    if args.workers not in ("0", "auto") and not str(args.workers).isdigit():
        print(f"hil run: error: -n expects a number or 'auto', got {args.workers!r}",
              file=sys.stderr)
        return 2
    if args.rig and args.workers not in ("0", 0):
        from hil.config.rig import load_rig

        if load_rig(args.rig).clock == "wall":
            print(f"hil run: error: {args.rig}: a wall-clock rig has one real bus; its scenarios "
                  "run one at a time (drop -n)", file=sys.stderr)
            return 2
    if getattr(args, "scheduler", None):
        if args.workers not in ("0", 0):
            print("hil run: error: --scheduler and -n both say where scenarios run: give one",
                  file=sys.stderr)
            return 2
        if args.rig:
            from hil.config.rig import load_rig

            if load_rig(args.rig).clock == "wall":
                print(f"hil run: error: {args.rig}: a wall-clock rig's scenarios run on its "
                      "one real bus, here: drop --scheduler", file=sys.stderr)
                return 2
        from hil.run.distributed import Scheduler

        probe = Scheduler(args.scheduler)   # unreachable: one line, exit 2 (a HilError)
        print(f"hil run: scheduler {args.scheduler}: {probe.workers} worker(s)",
              file=sys.stderr)
        probe.close()
    formats = [f.strip() for f in args.trace.split(",") if f.strip()]
    if args.trace not in ("", "none"):
        from hil.errors import ConfigError
        from hil.trace.core import check_formats

        try:
            check_formats(f for f in formats if f != "native")
        except ConfigError as exc:
            print(f"hil run: error: --trace: {exc.message}, or native", file=sys.stderr)
            return 2
    try:
        argv = pytest_args(args)
    except FileNotFoundError as exc:
        print(f"hil run: error: no such file or directory: {exc}", file=sys.stderr)
        return 2
    # Check every scenario before running any: a mistake is one line and exit 2, not a
    # collection error buried in test output.
    from hil.run.pytest_plugin import looks_like_scenario
    from hil.run.runner import load

    files = []
    for p in (Path(x) for x in (args.paths or ["scenarios/"])):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.y*ml") if looks_like_scenario(f))
        elif looks_like_scenario(p, named=True):
            files.append(p)
        else:
            print(f"hil run: error: {p}: not a scenario file (a .yaml or .yml file)",
                  file=sys.stderr)
            return 2
    if not files:
        print("hil run: error: no scenarios found in " + ", ".join(args.paths or ["scenarios/"]),
              file=sys.stderr)
        return 2
    if args.workers in ("0", 0) and not getattr(args, "scheduler", None):
        # This process runs every scenario: a short run is quicker on the plain-Python
        # plant kernels than on loading numba (plants/_jit.py plan; same traces).
        from plants import _jit

        _jit.plan(simulated_seconds(files))
    # Each file with its rig, DBC, signal map, plant parameters, ECU configuration
    # (controller classes, periods, calibration loader) and calibration.
    loaded = [load(f, rig=args.rig) for f in files]  # a one-line HilError, printed by main
    from hil.cli.run_dir import lock, remove_previous
    from hil.run import interrupt

    report = Path(args.report)
    with interrupt.handling(), lock(report):   # ReportDirBusy: one line, exit 2
        if args.changed_since is not None:
            from hil.calibration.select_cli import narrow

            files = narrow(loaded, files, args)
            if not files:
                return 0
            argv = pytest_args(args, paths=[str(f) for f in files])
        removed = remove_previous(report)
        if removed:
            print(f"hil run: removed the previous run's outputs from {report}: "
                  + ", ".join(removed) + " (the coverage index stays)", file=sys.stderr)
        print(f"hil run: {len(files)} scenario file(s) checked; running", file=sys.stderr)
        code = int(pytest.main(argv))
    signum = interrupt.received()
    if signum is not None:
        print(f"hil run: interrupted by {interrupt.signal_name(signum)}; {report} holds what "
              "ran until then (the interrupted scenario: trace so far, result.json marked "
              "interrupted)", file=sys.stderr)
        return 128 + signum
    if code == 0:
        return 0
    if code == 1:
        return 1
    if code == 5:
        print("hil run: error: no scenarios found in " + ", ".join(args.paths or ["scenarios/"]),
              file=sys.stderr)
    return 2
