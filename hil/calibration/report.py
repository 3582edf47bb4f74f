"""Coverage in the reports: the suite's hook at the end of ``hil run`` and ``hil coverage``.

At the end of a run (pytest plugin, controller process only) :func:`after_run` reads the
scenarios' ``coverage.json`` records, folds them into the index kept across runs
(``REPORT_DIR/coverage/index.json``, newest record per scenario and calibration), writes
the run's aggregate (``coverage/run.json``) and heatmaps (``coverage/run/<cal>/<map>.png``)
and returns the HTML section for summary.html. :func:`index_report` does the same for the
whole index (what ``hil coverage`` shows).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hil.calibration.coverage import (
    MIN_TIME_S,
    MapCoverage,
    aggregate,
    index_records,
    load_index,
    load_record,
    update_index,
)
from hil.calibration.heatmap import html_section, write_heatmaps
from hil.trace.files import atomic_write


def records_of(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in results:
        path = (r.get("artifacts") or {}).get("coverage")
        rec = load_record(path) if path else None
        if rec is not None:
            out.append(rec)
    return out


def aggregate_json(per_calibration: Mapping[str, Mapping[str, MapCoverage]],
                   scenarios: Sequence[str], min_time_s: float) -> dict[str, Any]:
    return {"format": "hil-coverage-aggregate/1", "scenarios": list(scenarios),
            "min_time_s": min_time_s,
            "calibrations": {cal: {name: {**c.to_json(),
                                          "visited": int(c.visited(min_time_s).sum()),
                                          "cells": c.cells}
                                   for name, c in maps.items()}
                             for cal, maps in per_calibration.items()}}


def after_run(results: Sequence[Mapping[str, Any]], report_dir: str | Path, *,
              plots: bool = True) -> str:
    """Index, run aggregate, heatmaps (not with ``plots=False``: ``hil run --no-plots``);
    the HTML section ('' when no run recorded coverage)."""
    report_dir = Path(report_dir)
    records = records_of(results)
    if not records:
        return ""
    update_index(report_dir, records)
    per = aggregate(records)
    atomic_write(report_dir / "coverage" / "run.json",
                 json.dumps(aggregate_json(per, [r["scenario"] for r in records], MIN_TIME_S),
                            indent=1))
    pngs = write_heatmaps(per, report_dir / "coverage" / "run") if plots else {}
    return html_section(per, pngs, scenarios=len(records))


def index_report(report_dir: str | Path, *, calibration: str | None = None,
                 min_time_s: float = MIN_TIME_S) -> tuple[dict[str, dict[str, MapCoverage]],
                                                         list[dict[str, Any]]]:
    """The coverage of every scenario recorded in the index (per calibration)."""
    records = index_records(load_index(report_dir), calibration)
    return aggregate(records), records
