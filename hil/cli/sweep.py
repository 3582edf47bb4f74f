"""``hil sweep SPEC.yaml``: run a grid or a seeded random sample of scenario variants on Dask.

Default: a ``distributed.LocalCluster`` on this machine (``--workers`` processes, one
thread each, listening on 127.0.0.1 only, no dashboard). ``--scheduler tcp://HOST:PORT``
uses an existing cluster; its workers need this project installed (``pip install -e .``
in the same version) since each task imports the bench. Writes ``results.csv``,
``results.parquet`` and ``sweep.html`` (the heatmap of the spec's figure over two swept
axes, and the table) to ``REPORT/sweep/<name>/``. Spec format: docs/calibration-workflow.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC.yaml", help="sweep spec")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="an existing Dask scheduler (default: a LocalCluster here)")
    parser.add_argument("--workers", type=int, default=2,
                        help="LocalCluster worker processes (default 2)")
    parser.add_argument("--in-process", action="store_true",
                        help="LocalCluster workers as threads of this process (debugging)")
    parser.add_argument("--report", default="reports", help="report directory (default reports/)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the points and exit without running")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from hil.calibration import sweep as S

    if args.workers < 1:
        print(f"hil sweep: error: --workers: at least 1, got {args.workers}", file=sys.stderr)
        return 2
    if args.scheduler is not None and not args.scheduler.startswith(("tcp://", "tls://")):
        print(f"hil sweep: error: --scheduler: expected tcp://HOST:PORT, got "
              f"{args.scheduler!r}", file=sys.stderr)
        return 2
    if not Path(args.spec).is_file():
        print(f"hil sweep: error: {args.spec}: no such spec file", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    spec = S.load_spec(args.spec)
    points = spec.points()
    tasks = [S.point_texts(spec, p, k) for k, p in enumerate(points)]
    # The cluster starts (and its workers warm up on the first point) while the other
    # points' scenarios are built and checked here; no point runs before every one has
    # passed. The first is checked before: a mistake common to all points costs no cluster.
    _check(tasks[:1], spec.path)
    cluster = None if args.dry_run or not tasks else S.Cluster(
        scheduler=args.scheduler, workers=args.workers, processes=not args.in_process,
        warm=tasks[0])
    try:
        _check(tasks[1:], spec.path)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    if args.dry_run:
        for t in tasks:
            print(t["index"], " ".join(f"{k}={v:g}" for k, v in t["point"].items()))
        return 0
    where = args.scheduler or (f"LocalCluster({args.workers} worker"
                               f"{'s' if args.workers > 1 else ''}"
                               f"{', in-process' if args.in_process else ''})")
    print(f"hil sweep: {spec.name}: {len(tasks)} run(s) of {spec.scenario} on {where}",
          file=sys.stderr)
    rows = sorted(S.run_tasks(tasks, progress_bar=not args.quiet, cluster=cluster),
                  key=lambda r: r["run"])
    # From the spec's loading (the check and the cluster's start overlap) to the last row.
    wall = time.perf_counter() - t0
    out = Path(args.report) / "sweep" / spec.name
    csv_path, pq_path = S.write_tables(rows, out)
    png = S.heatmap_png(rows, spec, out / "heatmap.png")
    page = S.write_html(rows, spec, out, png, wall, where)
    passed = sum(r["passed"] for r in rows)
    print(f"\nhil sweep: {passed} of {len(rows)} run(s) passed in {wall:.1f} s wall "
          f"({sum(r['sim_s'] for r in rows):.1f} s simulated)")
    print(f"table: {csv_path}, {pq_path}\nreport: {page}")
    return 0 if passed == len(rows) else 1


def _check(tasks, spec_path) -> None:
    """Load every point's scenario (and calibration) once: a mistake is one line, exit 2."""
    import tempfile

    import yaml

    from hil.calibration.diff import controllers_parser, parse_calibration
    from hil.errors import ConfigError, HilError
    from hil.run.runner import load

    with tempfile.TemporaryDirectory(prefix="hil-sweep-check-") as tmp:
        d = Path(tmp) / "scenarios"
        d.mkdir()
        for t in tasks:
            what = f"sweep point {t['index']} (" + ", ".join(
                f"{k}={v:g}" for k, v in t["point"].items()) + ")"
            raw = yaml.safe_load(t["scenario"])
            p = d / f"{raw['name']}.yaml"
            p.write_text(t["scenario"])
            try:
                if t["calibration"] is not None:
                    parse_calibration(controllers_parser(), t["calibration"], "calibration")
                sc = load(p)
                if sc.params:
                    # Plant parameters are checked by building the plant (as a run would).
                    from hil.bench.sil import build_plant
                    from hil.config.rig import load_rig, resolve_rig_path

                    rig_cfg = load_rig(resolve_rig_path(sc.rig, sc.file))
                    build_plant(sc.plant or rig_cfg.plant, sc.params, rig=rig_cfg)
            except HilError as exc:
                raise ConfigError(f"{what}: {exc.message}", file=str(spec_path), line=1,
                                  column=1) from None
