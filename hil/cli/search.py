"""``hil search SPEC``: property-based fault search in SIL (docs/search.md).

Runs hypothesis over the spec's space, prints progress and the result, writes the minimal
counterexample as a scenario YAML with its trace, plots and ``search.json`` under
``--report``/search/<name>/. Exit codes: 0 no property was falsified within the budget,
1 a counterexample was found (and replayed), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="search spec files (YAML)")
    parser.add_argument("--max-examples", type=int, default=200,
                        help="scenarios to run per spec, not counting shrinking (default 200)")
    parser.add_argument("--time", type=float, default=540.0, metavar="SECONDS",
                        help="wall-time budget per spec, shrinking included (default 540)")
    parser.add_argument("--max-shrinks", type=int, default=100,
                        help="scenarios to run while shrinking a failure (default 100)")
    parser.add_argument("--seed", type=int, default=None,
                        help="hypothesis seed (default: the spec's seed:, else 0)")
    parser.add_argument("--rig", default=None, help="rig file (default: the spec's or its base "
                        "scenario's rig:, else rigs/sil.yaml)")
    parser.add_argument("--report", default="reports", help="report directory (default reports/)")
    parser.add_argument("--fresh", action="store_true",
                        help="forget the example database of earlier searches of this spec "
                        "(default: replay known failures first)")
    parser.add_argument("-n", "--workers", type=int, default=1, metavar="N",
                        help="worker processes, each searching its share of --max-examples "
                        "with its own seed (default 1; deterministic given the seed and N)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def main(args: argparse.Namespace) -> int:
    from hil.search.engine import load_search_spec, run_search

    if args.max_examples < 1:
        print(f"hil search: error: --max-examples must be at least 1, got {args.max_examples}",
              file=sys.stderr)
        return 2
    if args.max_shrinks < 0:
        print(f"hil search: error: --max-shrinks must be 0 or more, got {args.max_shrinks}",
              file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"hil search: error: -n must be at least 1, got {args.workers}", file=sys.stderr)
        return 2
    if args.time <= 0:
        print(f"hil search: error: --time must be positive, got {args.time:g}", file=sys.stderr)
        return 2
    for p in args.specs:
        if not Path(p).is_file():
            print(f"hil search: error: no such spec file: {p}", file=sys.stderr)
            return 2
    if args.rig is not None and not Path(args.rig).is_file():
        print(f"hil search: error: no such rig file: {args.rig}", file=sys.stderr)
        return 2
    # Check every spec before searching any: a mistake is one line and exit 2.
    specs = [load_search_spec(p, rig=args.rig) for p in args.specs]
    found = False

    def say(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    for spec in specs:
        result = run_search(spec, max_examples=args.max_examples, time_s=args.time,
                            report_dir=args.report, rig=args.rig, seed=args.seed,
                            fresh=args.fresh, max_shrinks=args.max_shrinks, workers=args.workers,
                            progress=None if args.quiet else say)
        print(report(result))
        found |= result.found
    return 1 if found else 0


def report(result) -> str:  # noqa: ANN001 - hil.search.engine.SearchResult
    s = result.summary()
    lines = [f"{s['name']}: {s['examples']} examples + {s['shrink_runs']} shrink runs in "
             f"{s['wall_s']:.1f} s wall ({s['cpu_s']:.1f} s CPU; stopped by "
             f"{s['stopped_by']}), seed {s['seed']}"]
    lines.append("  smallest margin per property:")
    for label, m in s["smallest_margin"].items():
        lines.append(f"    {m['text']:>20s}  {label}")
    if not result.found:
        lines.append("  no counterexample: every property held in every example")
        return "\n".join(lines)
    cx = s["counterexample"]
    lines.append(f"  COUNTEREXAMPLE ({cx['faults']} fault{'s' if cx['faults'] != 1 else ''}, "
                 f"{len(s['shrink_steps'])} shrink steps): {cx['description']}")
    for text in cx["failed"]:
        lines.append(f"    {text}")
    if cx["error"]:
        lines.append(f"    {cx['error']}")
    same = "identical" if cx["replay_identical"] else "DIFFERENT"
    lines.append(f"  replay with the runner: {same} (trace {cx['trace_sha256']} / "
                 f"{cx['replay_trace_sha256']})")
    lines.append(f"  scenario: {cx['file']}")
    lines.append(f"  rerun:    hil run {cx['file']}")
    return "\n".join(lines)
