"""The next dyno operating points: most unvisited cells per minute, weighted by region.

``hil plan`` works as a dyno tuner does, on the SIL model of the engine:

1. **Probe** (once per calibration, plant and rpm set; cached in ``reports/plan/``): for
   every rpm breakpoint of the map the engine can run at, a short dyno run (after a
   lead-in at that speed) steps the throttle through :data:`PROBE_THROTTLES`; the
   coverage record of each step's steady part says which cells that operating point
   (rpm, throttle) dwells in.
2. **Choose** greedily, within the simulated-time budget, the point with the most
   not-yet-visited cells per minute, each cell weighted by the priority of the region it
   lies in (``plans/regions.yaml``: high-load midrange first); the order chosen is the
   order to run them in.
3. **Write** the points as ordinary scenarios (``reports/plan/scenarios/*.yaml``, at most
   :data:`CHUNK_S` each, so ``hil run reports/plan/ -n 2`` runs them in parallel).
4. **Predict** the gain by running those scenarios on the SIL model before you do (the
   model estimate of step 2 is printed too): ``plan.json`` holds the prediction that a
   second ``hil coverage`` after ``hil run reports/plan/`` is checked against.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.calibration.coverage import MIN_TIME_S, MapCoverage, load_record
from hil.config.yamlio import LocDict, LocList, check_keys, error_at, load_yaml
from hil.errors import ConfigError
from hil.trace.files import atomic_write

PROBE_THROTTLES = (0.0, 8.0, 14.0, 20.0, 27.0, 35.0, 50.0, 70.0, 100.0)
PROBE_DWELL_S = 1.2        # per throttle step of a probe run
STEADY_FROM_S = 0.4        # the steady part of a dwell starts this long after the step
DWELL_S = 1.5              # per plan point (transition + steady part)
CHUNK_S = 60.0             # at most this much simulated time per plan scenario
REGIONS_FILE = Path(__file__).resolve().parents[2] / "plans" / "regions.yaml"


@dataclass(frozen=True)
class Region:
    name: str
    ranges: Mapping[str, tuple[float, float]]   # axis name -> [lo, hi], inclusive
    priority: float


def load_regions(path: str | Path) -> tuple[list[Region], float]:
    """``regions:`` (name, a [lo, hi] range per axis name, priority) and ``default:``."""
    raw = load_yaml(path)
    check_keys(raw, ("regions", "default"), what="regions file", required=("regions",))
    default = raw.get("default", 1.0)
    if isinstance(default, bool) or not isinstance(default, int | float) or default < 0:
        raise error_at(raw.value_loc("default"), "default: expected a priority >= 0")
    out = []
    items = raw["regions"]
    if not isinstance(items, LocList):
        raise error_at(raw.value_loc("regions"), "regions: expected a list")
    for k, r in enumerate(items):
        if not isinstance(r, LocDict):
            raise error_at(items.item_loc(k), "a region is a mapping: {name, priority, "
                           "<axis>: [lo, hi]}")
        pr = r.get("priority")
        if isinstance(pr, bool) or not isinstance(pr, int | float) or pr < 0:
            raise error_at(r.value_loc("priority") or r.loc,
                           "priority: expected a number >= 0")
        ranges = {}
        for key, v in r.items():
            if key in ("name", "priority"):
                continue
            if (not isinstance(v, list) or len(v) != 2
                    or not all(isinstance(x, int | float) and not isinstance(x, bool)
                               for x in v) or v[0] > v[1]):
                raise error_at(r.value_loc(key), f"{key}: expected [lo, hi] with lo <= hi")
            ranges[str(key)] = (float(v[0]), float(v[1]))
        out.append(Region(str(r.get("name", f"region {k + 1}")), ranges, float(pr)))
    return out, float(default)


def priority_grid(cov: MapCoverage, regions: Sequence[Region], default: float) -> np.ndarray:
    """Priority per cell: the highest region containing its breakpoint, else default."""
    grid = np.full(cov.shape, default, dtype=np.float64)
    axes = {cov.x_name, cov.y_name}
    for j, y in enumerate(cov.y):
        for i, x in enumerate(cov.x):
            hits = [r.priority for r in regions if set(r.ranges) <= axes
                    and all(lo <= (x if a == cov.x_name else y) <= hi
                            for a, (lo, hi) in r.ranges.items())]
            if hits:
                grid[j, i] = max(hits)
    return grid


# -- scenarios ------------------------------------------------------------------------------


def scenario_text(name: str, description: str, points: Sequence[tuple[float, float]],
                  dwell_s: float, *, plant: str, calibration: str,
                  windows: bool = False) -> str:
    """A dyno scenario visiting ``points`` (rpm, throttle %) for ``dwell_s`` each."""
    rpm0, thr0 = points[0]
    lines = [f"name: {name}", f"description: {json.dumps(description)}", "tags: [plan, dyno]",
             f"duration: {len(points) * dwell_s:g} s", f"plant: {plant}",
             f"calibration: {json.dumps(str(calibration))}", "seed: 0", "mode: dyno",
             f"initial: {{dyno.speed_rpm: {rpm0:g}, driver.throttle_pct: {thr0:g}, "
             "engine.coolant_temp_c: 90}"]
    if len(points) > 1:
        lines.append("steps:")
        for k, (rpm, thr) in enumerate(points[1:], start=1):
            lines += [f"  - at: {k * dwell_s:g} s",
                      f"    name: {json.dumps(f'point {k + 1}: {rpm:g} rpm, {thr:g} %')}",
                      f"    set: {{dyno.speed_rpm: {rpm:g}, driver.throttle_pct: {thr:g}}}"]
    lines += ["expect:", "  - never: \"EngineMode == 'SHUTDOWN'\""]
    if windows:
        # One window per point: the coverage record lists the cells each one saw.
        for k in range(len(points)):
            t0, t1 = k * dwell_s + STEADY_FROM_S, (k + 1) * dwell_s
            lines.append(f"  - always: {{condition: \"EngineSpeed >= 0\", "
                         f"during: [{t0:g} s, {t1:g} s]}}")
    return "\n".join(lines) + "\n"


def _run_file(path: str, report_dir: str) -> str | None:
    """Run one scenario file in SIL (a worker process); its coverage record's path."""
    from hil.run.runner import load, run_scenario

    result = run_scenario(load(path), report_dir=report_dir, formats=(), plots=False)
    return result.artifacts.get("coverage")


def run_files(paths: Sequence[Path], report_dir: Path, jobs: int,
              progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Coverage records of running ``paths`` (``jobs`` processes)."""
    out: list[dict[str, Any]] = []
    if jobs <= 1:
        results = (_run_file(str(p), str(report_dir)) for p in paths)
        for p, rec_path in zip(paths, results, strict=False):
            _collect(out, rec_path, p, progress)
        return out
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_file, str(p), str(report_dir)) for p in paths]
        for p, f in zip(paths, futures, strict=True):
            _collect(out, f.result(), p, progress)
    return out


def _collect(out: list[dict[str, Any]], rec_path: str | None, p: Path,
             progress: Callable[[str], None] | None) -> None:
    rec = load_record(rec_path) if rec_path else None
    if rec is None:
        raise ConfigError(f"{p}: the run recorded no coverage (not a SIL rig?)")
    out.append(rec)
    if progress is not None:
        progress(p.stem)


# -- the plan -------------------------------------------------------------------------------


@dataclass
class Candidate:
    rpm: float
    throttle: float
    cells: frozenset[tuple[int, int]]       # (i, j) visited in the steady part


@dataclass
class Plan:
    map_name: str
    calibration: str
    points: list[tuple[Candidate, float, int]]    # candidate, weighted gain / min, new cells
    baseline: np.ndarray                          # visited before (bool grid)
    model: np.ndarray                             # visited after, by the probe model
    files: list[Path]


def probe(calibration: str, plant: str, rpms: Sequence[float], map_name: str, out_dir: Path,
          jobs: int, min_time_s: float, progress: Callable[[str], None] | None = None,
          throttles: Sequence[float] = PROBE_THROTTLES) -> list[Candidate]:
    """Which cells each (rpm, throttle) dwells in, from probe runs (cached by content)."""
    key = {"calibration": calibration, "plant": plant, "rpms": list(rpms),
           "throttles": list(throttles), "dwell_s": PROBE_DWELL_S,
           "steady_from_s": STEADY_FROM_S, "map": map_name, "min_time_s": min_time_s}
    cache = out_dir / "probe.json"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = None
    with tempfile.TemporaryDirectory(prefix="hil-probe-") as tmp:
        paths = []
        for rpm in rpms:
            p = Path(tmp) / "scenarios" / f"probe_{rpm:g}.yaml"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(scenario_text(
                f"probe_{rpm:g}", f"Plan probe: throttle steps on the dyno at {rpm:g} rpm.",
                [(rpm, throttles[0])] + [(rpm, t) for t in throttles],
                PROBE_DWELL_S, plant=plant,
                calibration=calibration, windows=True))
            paths.append(p)
        key["calibration_sha256"] = _calibration_digest(paths[0])
        if cached is not None and cached.get("key") == key:
            return [Candidate(c["rpm"], c["throttle"], frozenset(map(tuple, c["cells"])))
                    for c in cached["candidates"]]
        records = run_files(paths, Path(tmp) / "reports", jobs, progress)
    cands = []
    for rpm, rec in zip(rpms, records, strict=True):
        # [0] is the never-SHUTDOWN check, [1] the lead-in while the dyno reaches the speed.
        windows = rec["expectations"][2:]
        for thr, w in zip(throttles, windows, strict=True):
            cells = frozenset((i, j) for i, j, t in w["cells"][map_name] if t >= min_time_s)
            cands.append(Candidate(rpm, thr, cells))
    atomic_write(cache, json.dumps({"key": key, "candidates": [
        {"rpm": c.rpm, "throttle": c.throttle, "cells": sorted(c.cells)} for c in cands]},
        indent=1))
    return cands


def _calibration_digest(scenario_path: Path) -> str | None:
    from hil.calibration.coverage import file_digest
    from hil.calibration.diff import calibration_of
    from hil.run.runner import load

    cal = calibration_of(None)(load(scenario_path))
    return file_digest(cal.path) if cal is not None else None


def choose(cands: Sequence[Candidate], visited: np.ndarray, weights: np.ndarray,
           budget_s: float, dwell_s: float = DWELL_S
           ) -> tuple[list[tuple[Candidate, float, int]], np.ndarray]:
    """Greedy: the point with the most weighted new cells per minute, until the budget."""
    seen = visited.copy()
    chosen: list[tuple[Candidate, float, int]] = []
    left = list(cands)
    while left and (len(chosen) + 1) * dwell_s <= budget_s + 1e-9:
        def gain(c: Candidate) -> tuple[float, int]:
            new = [(i, j) for i, j in c.cells if not seen[j, i]]
            return sum(weights[j, i] for i, j in new) / (dwell_s / 60.0), len(new)

        scored = [(gain(c), -k, c) for k, c in enumerate(left)]
        (best, n_new), _k, c = max(scored, key=lambda s: (s[0][0], s[1]))
        if best <= 0:
            break
        chosen.append((c, best, n_new))
        for i, j in c.cells:
            seen[j, i] = True
        left.remove(c)
    return chosen, seen


def write_plan(chosen: Sequence[tuple[Candidate, float, int]], out_dir: Path, *, map_name: str,
               plant: str, calibration: str, dwell_s: float = DWELL_S) -> list[Path]:
    """The points as scenarios of at most CHUNK_S each, in order; old plan files go."""
    scen_dir = out_dir / "scenarios"
    scen_dir.mkdir(parents=True, exist_ok=True)
    for old in scen_dir.glob("plan_*.yaml"):
        old.unlink()
    per = max(int(CHUNK_S // dwell_s), 1)
    files = []
    for n, k in enumerate(range(0, len(chosen), per), start=1):
        pts = [(c.rpm, c.throttle) for c, _g, _n in chosen[k:k + per]]
        path = scen_dir / f"plan_{map_name}_{n:02d}.yaml"
        atomic_write(path, scenario_text(
            f"plan_{map_name}_{n:02d}",
            f"Planned dyno points {k + 1}-{k + len(pts)} for unvisited {map_name} cells "
            f"(hil plan).", pts, dwell_s, plant=plant, calibration=calibration))
        files.append(path)
    return files


def union_visited(records: Sequence[Mapping[str, Any]], map_name: str, shape: tuple[int, int],
                  min_time_s: float) -> np.ndarray:
    from hil.calibration.coverage import aggregate

    grid = np.zeros(shape, dtype=bool)
    for per in aggregate(records).values():
        if map_name in per and per[map_name].shape == shape:
            grid |= per[map_name].visited(min_time_s)
    return grid


def default_min_time() -> float:
    return MIN_TIME_S
