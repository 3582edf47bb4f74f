"""``hil coverage [REPORT_DIR]``: which cells of the calibration maps the suite exercised.

Reads the coverage index that ``hil run`` keeps in ``REPORT_DIR/coverage/index.json``
(the newest record of every scenario, per calibration, across runs), prints one row per
map, writes a heatmap per map (``REPORT_DIR/coverage/<calibration>/<map>.png``) and puts
the same section into ``REPORT_DIR/summary.html``. ``--map ve`` also prints the map's
grid: seconds the lookups dwelt in each cell, ``.`` for an unvisited one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", nargs="?", default="reports", metavar="REPORT_DIR",
                        help="report directory of hil run (default reports/)")
    parser.add_argument("--calibration", default=None,
                        help="only this calibration (name, e.g. road_car)")
    parser.add_argument("--map", dest="map_name", default=None,
                        help="also print this map's grid of seconds per cell (e.g. ve)")
    parser.add_argument("--min-time", type=float, default=None, metavar="S",
                        help="seconds of lookups for a cell to count as visited "
                        "(default 0.05)")
    parser.add_argument("--json", action="store_true",
                        help="print the aggregate as JSON instead of the table")


def grid_lines(cov, min_time_s: float) -> list[str]:
    visited = cov.visited(min_time_s)
    corner = f"{cov.y_name} / {cov.x_name}"
    head = f"{corner:>14s} " + " ".join(f"{v:>6g}" for v in cov.x)
    lines = [head]
    for j in reversed(range(len(cov.y))):
        cells = " ".join(f"{cov.time_s[j, i]:6.2f}" if visited[j, i] else f"{'.':>6s}"
                         for i in range(len(cov.x)))
        lines.append(f"{cov.y[j]:>14g} {cells}")
    return lines


def main(args: argparse.Namespace) -> int:
    from hil.calibration.coverage import MIN_TIME_S, index_path
    from hil.calibration.heatmap import html_section, table_rows, write_heatmaps
    from hil.calibration.report import aggregate_json, index_report

    min_time = MIN_TIME_S if args.min_time is None else args.min_time
    if min_time < 0:
        print(f"hil coverage: error: --min-time must be >= 0, got {min_time:g}", file=sys.stderr)
        return 2
    report = Path(args.report)
    if not report.is_dir():
        print(f"hil coverage: error: {report}: no such report directory", file=sys.stderr)
        return 2
    if not index_path(report).exists():
        print(f"hil coverage: error: {index_path(report)}: no coverage recorded yet "
              f"(run: hil run scenarios/ --report {report})", file=sys.stderr)
        return 2
    per, records = index_report(report, calibration=args.calibration)
    if not per:
        known = sorted({r['calibration']['name'] for r in index_report(report)[1]})
        print(f"hil coverage: error: no coverage of calibration {args.calibration!r} in "
              f"{index_path(report)} (recorded: {', '.join(known) or 'none'})", file=sys.stderr)
        return 2
    if args.map_name is not None and not any(args.map_name in m for m in per.values()):
        names = sorted({n for m in per.values() for n in m})
        print(f"hil coverage: error: --map: unknown map {args.map_name!r} "
              f"(maps: {', '.join(names)})", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(aggregate_json(per, [r["scenario"] for r in records], min_time),
                         indent=1))
        return 0
    pngs = write_heatmaps(per, report / "coverage", min_time_s=min_time)
    print(f"coverage of {len(records)} scenario(s) recorded in {index_path(report)} "
          f"(visited: >= {min_time:g} s of lookups in a cell)")
    print(f"{'calibration':12s} {'map':18s} {'visited':>9s} {'share':>6s} {'s looked up':>12s}")
    for cal, name, v, n, share, secs in table_rows(per, min_time):
        print(f"{cal:12s} {name:18s} {f'{v}/{n}':>9s} {share:6.0%} {secs:12.1f}")
    if args.map_name is not None:
        for cal, maps in per.items():
            if args.map_name in maps:
                print(f"\n{cal} {args.map_name}: seconds per cell ('.' unvisited)")
                print("\n".join(grid_lines(maps[args.map_name], min_time)))
    section = html_section(per, pngs, scenarios=len(records), min_time_s=min_time).replace(
        "in this run's", "across the runs recorded in the index, in", 1)
    summary = _rewrite_summary(report, section)
    print("heatmaps: " + ", ".join(str(p) for m in pngs.values() for p in m.values()))
    if summary is not None:
        print(f"summary: {summary}")
    return 0


def _rewrite_summary(report: Path, section: str) -> Path | None:
    """summary.html again, from summary.json, with the index's coverage section."""
    from hil.report.html import write_summary

    try:
        results = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = []
    return write_summary(results if isinstance(results, list) else [], report,
                         sections=[section])
