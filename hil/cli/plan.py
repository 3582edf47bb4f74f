"""``hil plan``: the dyno points that cover the most unvisited map cells per minute.

Reads the coverage index of ``--report`` (what ``hil run`` recorded), probes the engine
on the SIL model once per calibration and plant, picks points greedily by weighted new
cells per simulated minute within ``--budget`` (region weights: ``--regions``, default
``plans/regions.yaml``), writes them as scenarios under ``REPORT/plan/scenarios/`` and
predicts the gain by running them on the SIL model (``REPORT/plan/plan.json``). Then:
``hil run REPORT/plan/ -n 2`` and ``hil coverage`` show the gain.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", default="10min",
                        help="simulated dyno time of the plan (default 10min)")
    parser.add_argument("--map", dest="map_name", default="ve",
                        help="map to cover, on rpm x load axes (default ve)")
    parser.add_argument("--report", default="reports",
                        help="report directory with the coverage index (default reports/)")
    parser.add_argument("--calibration", default=None,
                        help="calibration name in the index (default: the only one, else "
                        "road_car)")
    parser.add_argument("--plant", default=None,
                        help="plant parameter set (default: the calibration's name)")
    parser.add_argument("--regions", default=None,
                        help="region priorities (default plans/regions.yaml)")
    parser.add_argument("--rpm", default=None,
                        help="comma-separated rpm breakpoints the dyno may run at (default "
                        "every breakpoint below the rev limit)")
    parser.add_argument("--throttles", default=None,
                        help="comma-separated throttle %% the probe steps through (default "
                        "0,8,14,20,27,35,50,70,100)")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help="processes for the probe and the prediction runs (default 2)")
    parser.add_argument("--min-time", type=float, default=None, metavar="S",
                        help="seconds in a cell to count as visited (default 0.05)")


def _fail(msg: str) -> int:
    print(f"hil plan: error: {msg}", file=sys.stderr)
    return 2


def main(args: argparse.Namespace) -> int:
    import numpy as np

    from hil.calibration import plan as P
    from hil.calibration.coverage import MIN_TIME_S, index_path
    from hil.calibration.diff import controllers_parser
    from hil.calibration.report import index_report
    from hil.config.units import UnitError, parse_time_ns
    from hil.trace.files import atomic_write

    try:
        budget_s = parse_time_ns(args.budget) / 1e9
    except UnitError as exc:
        return _fail(f"--budget: {exc}")
    min_time = MIN_TIME_S if args.min_time is None else args.min_time
    if budget_s < P.DWELL_S:
        return _fail(f"--budget: at least {P.DWELL_S:g} s (one point), got {args.budget!r}")
    if args.jobs < 1:
        return _fail(f"-j: at least 1, got {args.jobs}")
    report = Path(args.report)
    if not index_path(report).exists():
        return _fail(f"{index_path(report)}: no coverage recorded yet (run: hil run "
                     f"scenarios/ --report {report})")
    per, records = index_report(report)
    names = sorted(per)
    cal_name = args.calibration or (names[0] if len(names) == 1 else "road_car")
    if cal_name not in per:
        return _fail(f"--calibration: no coverage of {cal_name!r} in {index_path(report)} "
                     f"(recorded: {', '.join(names)})")
    maps = per[cal_name]
    if args.map_name not in maps:
        return _fail(f"--map: unknown map {args.map_name!r} (maps: {', '.join(sorted(maps))})")
    cov = maps[args.map_name]
    if (cov.x_unit, cov.y_unit) != ("rpm", "kPa"):
        return _fail(f"--map: {args.map_name!r} is on {cov.x_name} x {cov.y_name}; the "
                     "planner covers rpm x load maps (dyno speed and throttle set the point)")
    regions, default = P.load_regions(args.regions or P.REGIONS_FILE)
    weights = P.priority_grid(cov, regions, default)
    cal_path = next(r["calibration"]["path"] for r in records
                    if r["calibration"]["name"] == cal_name)
    cal = controllers_parser()(Path(cal_path).read_text(encoding="utf-8"), cal_path)
    top = cal.scalars["rev_limit"] - cal.scalars["rev_limit_hyst"]
    if args.rpm:
        try:
            rpms = [float(v) for v in args.rpm.split(",")]
        except ValueError:
            return _fail(f"--rpm: expected comma-separated numbers, got {args.rpm!r}")
        bad = [r for r in rpms if r not in cov.x or r > top]
        if bad:
            return _fail(f"--rpm: {bad[0]:g} is not a breakpoint below the rev limit "
                         f"(breakpoints: {', '.join(f'{v:g}' for v in cov.x if v <= top)})")
    else:
        rpms = [v for v in cov.x if v <= top]
    throttles = list(P.PROBE_THROTTLES)
    if args.throttles:
        try:
            throttles = sorted(float(v) for v in args.throttles.split(","))
        except ValueError:
            return _fail(f"--throttles: expected comma-separated numbers, got "
                         f"{args.throttles!r}")
        if not all(0 <= t <= 100 for t in throttles):
            return _fail(f"--throttles: every value in [0, 100] %, got {args.throttles!r}")
    plant = args.plant or cal_name
    out = report / "plan"
    baseline = cov.visited(min_time)
    print(f"hil plan: {cal_name} {args.map_name}: {int(baseline.sum())} of {cov.cells} cells "
          f"visited in the index; probing {len(rpms)} rpm point(s) on the SIL model",
          file=sys.stderr)
    progress = _progress("probe", len(rpms))
    cands = P.probe(cal_path, plant, rpms, args.map_name, out, args.jobs, min_time, progress,
                    throttles)
    chosen, model = P.choose(cands, baseline, weights, budget_s)
    if not chosen:
        print("hil plan: no operating point reaches an unvisited cell", file=sys.stderr)
        return 0
    files = P.write_plan(chosen, out, map_name=args.map_name, plant=plant,
                         calibration=cal_path)
    print(f"hil plan: {len(chosen)} point(s), {len(chosen) * P.DWELL_S:g} s; predicting the "
          f"gain by running {len(files)} plan scenario(s) on the SIL model", file=sys.stderr)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hil-plan-") as tmp:
        recs = P.run_files(files, Path(tmp), args.jobs, _progress("predict", len(files)))
    after = baseline | P.union_visited(recs, args.map_name, cov.shape, min_time)
    predicted = int(after.sum() - baseline.sum())
    model_gain = int(model.sum() - baseline.sum())
    rows = []
    print(f"{'#':>3s} {'rpm':>6s} {'throttle %':>10s} {'new cells':>9s} "
          f"{'weighted/min':>12s}  cells ({cov.x_name}, {cov.y_name})")
    for k, (c, g, n) in enumerate(chosen, start=1):
        cells = ", ".join(f"({cov.x[i]:g}, {cov.y[j]:g})" for i, j in sorted(c.cells))
        print(f"{k:3d} {c.rpm:6g} {c.throttle:10g} {n:9d} {g:12.1f}  {cells}")
        rows.append({"order": k, "rpm": c.rpm, "throttle_pct": c.throttle, "new_cells": n,
                     "weighted_gain_per_min": g, "cells": sorted(c.cells)})
    share0, share1 = baseline.sum() / cov.cells, after.sum() / cov.cells
    print(f"predicted: {args.map_name} {int(baseline.sum())} -> {int(after.sum())} of "
          f"{cov.cells} cells ({share0:.0%} -> {share1:.0%}, +{predicted} cells; probe model "
          f"+{model_gain})")
    plan = {"format": "hil-plan/1", "calibration": cal_name, "calibration_path": cal_path,
            "map": args.map_name, "budget_s": budget_s, "dwell_s": P.DWELL_S,
            "min_time_s": min_time, "points": rows, "files": [str(f) for f in files],
            "baseline_visited": int(baseline.sum()), "predicted_visited": int(after.sum()),
            "predicted_gain_cells": predicted, "model_gain_cells": model_gain,
            "cells": cov.cells,
            "predicted_cells": [[int(i), int(j)] for j, i in np.argwhere(after & ~baseline)]}
    atomic_write(out / "plan.json", json.dumps(plan, indent=1))
    print(f"scenarios: {out / 'scenarios'}  (run: hil run {out} -n 2; then hil coverage "
          f"{report} --map {args.map_name})")
    return 0


def _progress(what: str, total: int):
    done = [0]

    def tick(name: str) -> None:
        done[0] += 1
        print(f"hil plan: {what} {done[0]}/{total} ({name})", file=sys.stderr)

    return tick
