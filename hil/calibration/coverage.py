"""Operating-point coverage of the calibration maps, on each map's own breakpoints.

The n.Tec controllers look their maps up from the ECU's input signals: the 1 ms fuel and
spark path (``controllers/fueling.py``) interpolates ``ve``, ``lambda_target``,
``spark_mbt`` and ``spark_knock_limit`` at (EngineSpeed, ManifoldPressure) of every
PlantFast frame it receives, the 10 ms lambda controller ``egt_enrichment`` at the same
pair, the boost controller ``boost_target`` at (EngineSpeed, ThrottlePosition). The trace
holds exactly those frames, so the coverage of a run is computed afterwards from the
trace and the calibration's breakpoints: nothing in ``controllers/`` is instrumented,
and the 1 ms path runs as it always does.

Per map and per cell (a breakpoint (i, j), the cell the tuners adapt, ``Map2D.cell``):

- ``samples``: lookups whose nearest breakpoint is the cell;
- ``time_s``: simulated time those lookups held (up to the next frame);
- ``touched``: the cell's value entered a lookup with a weight that may be non-zero
  (bilinear interpolation reads the four breakpoints around a point). A change of an
  untouched cell cannot change any value the controllers computed: the calibration-diff
  selection (:mod:`hil.calibration.diff`) relies on this.

A cell counts as *visited* when the lookups dwelt in it at least ``min_time_s``
(default :data:`MIN_TIME_S`): a calibrator covers a cell by running there, not by
sweeping through it in one frame.

One record per scenario run (``coverage.json`` next to its trace), aggregated per suite
and kept across runs per calibration in ``REPORT_DIR/coverage/index.json``
(:func:`update_index`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.trace.files import atomic_write

FORMAT = "hil-coverage/1"
INDEX_FORMAT = "hil-coverage-index/1"
# A cell is visited when the lookups dwelt in it this long (50 fast-path frames).
MIN_TIME_S = 0.05

# The ECU input signal each axis unit is looked up with (controllers/fueling.py,
# lambda_control.py, boost.py read EngineSpeed, ManifoldPressure and ThrottlePosition).
AXIS_INPUTS: dict[str, str] = {"rpm": "EngineSpeed", "kPa": "ManifoldPressure",
                               "%": "ThrottlePosition"}


# What the controllers look up with before the first frame arrives (their signals.get
# defaults: EngineSpeed 0, ManifoldPressure 100, ThrottlePosition 0): counted as touched.
AXIS_DEFAULTS: dict[str, float] = {"rpm": 0.0, "kPa": 100.0, "%": 0.0}


def locate(values: Sequence[float], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised ``Axis.locate`` of controllers/basemap.py: (left index, fraction), clamped."""
    v = np.asarray(values, dtype=np.float64)
    i = np.clip(np.searchsorted(v, x, side="right") - 1, 0, len(v) - 2)
    f = np.clip((x - v[i]) / (v[i + 1] - v[i]), 0.0, 1.0)
    return i, f


@dataclass
class MapCoverage:
    """Coverage of one map: arrays of shape (len(y), len(x)), one row per y breakpoint
    as the map is written in YAML."""

    name: str
    x_name: str
    x_unit: str
    x: list[float]
    y_name: str
    y_unit: str
    y: list[float]
    inputs: tuple[str, str]
    time_s: np.ndarray
    samples: np.ndarray
    touched: np.ndarray

    @classmethod
    def empty_like(cls, other: MapCoverage) -> MapCoverage:
        shape = (len(other.y), len(other.x))
        return cls(other.name, other.x_name, other.x_unit, list(other.x), other.y_name,
                   other.y_unit, list(other.y), other.inputs, np.zeros(shape),
                   np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=bool))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.y), len(self.x)

    @property
    def cells(self) -> int:
        return len(self.y) * len(self.x)

    def visited(self, min_time_s: float = MIN_TIME_S) -> np.ndarray:
        return (self.samples > 0) & (self.time_s >= min_time_s - 1e-12)

    def share(self, min_time_s: float = MIN_TIME_S) -> float:
        return float(self.visited(min_time_s).sum()) / self.cells

    def same_axes(self, other: MapCoverage) -> bool:
        return self.x == other.x and self.y == other.y and self.inputs == other.inputs

    def add(self, other: MapCoverage) -> None:
        if not self.same_axes(other):
            raise ValueError(f"map {self.name!r}: coverage recorded on other breakpoints")
        self.time_s = self.time_s + other.time_s
        self.samples = self.samples + other.samples
        self.touched = self.touched | other.touched

    def to_json(self) -> dict[str, Any]:
        return {"x": {"name": self.x_name, "unit": self.x_unit, "values": self.x},
                "y": {"name": self.y_name, "unit": self.y_unit, "values": self.y},
                "inputs": list(self.inputs),
                "time_s": [[round(float(v), 6) for v in row] for row in self.time_s],
                "samples": self.samples.astype(int).tolist(),
                "touched": self.touched.astype(int).tolist()}

    @classmethod
    def from_json(cls, name: str, d: Mapping[str, Any]) -> MapCoverage:
        return cls(name, d["x"]["name"], d["x"]["unit"], [float(v) for v in d["x"]["values"]],
                   d["y"]["name"], d["y"]["unit"], [float(v) for v in d["y"]["values"]],
                   (d["inputs"][0], d["inputs"][1]),
                   np.asarray(d["time_s"], dtype=np.float64),
                   np.asarray(d["samples"], dtype=np.int64),
                   np.asarray(d["touched"], dtype=bool))


@dataclass
class Lookups:
    """The (x, y) points one map was looked up at, with the time each one held."""

    t_ns: np.ndarray
    dt_s: np.ndarray
    x: np.ndarray
    y: np.ndarray


def map_inputs(cal_map: Any) -> tuple[str, str]:
    """The ECU signals a map is looked up with, from its axes' units."""
    try:
        return AXIS_INPUTS[cal_map.x.unit], AXIS_INPUTS[cal_map.y.unit]
    except KeyError as exc:
        raise ValueError(f"map {cal_map.name!r}: no ECU input known for axis unit "
                         f"{exc.args[0]!r}") from None


def lookups(trace: Any, inputs: tuple[str, str], end_ns: int) -> Lookups:
    """The lookup points of a map from the trace: one per frame of the slower of the two
    input signals (the task that looks the map up runs on it), the other held."""
    from hil.scenario.align import hold

    sx, sy = trace.signal(inputs[0]), trace.signal(inputs[1])
    tx, ty = np.asarray(sx.t_ns, dtype=np.int64), np.asarray(sy.t_ns, dtype=np.int64)
    t = ty if len(ty) <= len(tx) else tx
    x = hold(tx, sx.values, t)
    y = hold(ty, sy.values, t)
    ok = np.isfinite(x) & np.isfinite(y)
    t, x, y = t[ok], x[ok], y[ok]
    dt = np.diff(t, append=max(int(end_ns), int(t[-1]) if len(t) else 0)) / 1e9
    return Lookups(t, dt, x, y)


def cover(cal_map: Any, pts: Lookups, inputs: tuple[str, str],
          window_ns: tuple[int, int] | None = None) -> MapCoverage:
    """Coverage of ``cal_map`` (a controllers.basemap.Map2D) by the lookup points."""
    xv, yv = list(cal_map.x.values), list(cal_map.y.values)
    cov = MapCoverage(cal_map.name, cal_map.x.name, cal_map.x.unit, xv, cal_map.y.name,
                      cal_map.y.unit, yv, inputs, np.zeros((len(yv), len(xv))),
                      np.zeros((len(yv), len(xv)), dtype=np.int64),
                      np.zeros((len(yv), len(xv)), dtype=bool))
    x, y, dt = pts.x, pts.y, pts.dt_s
    if window_ns is not None:
        sel = _in_window(pts.t_ns, window_ns)
        x, y, dt = x[sel], y[sel], dt[sel]
    if len(x) == 0:
        return cov
    i, fx = locate(xv, x)
    j, fy = locate(yv, y)
    ni, nj = i + (fx >= 0.5), j + (fy >= 0.5)
    np.add.at(cov.samples, (nj, ni), 1)
    np.add.at(cov.time_s, (nj, ni), dt)
    # The left/lower breakpoint always enters the arithmetic of the interpolation; the
    # right/upper one when its fraction is non-zero.
    for di, dj in ((0, 0), (1, 0), (0, 1), (1, 1)):
        sel = np.ones(len(x), dtype=bool)
        if di:
            sel &= fx > 0.0
        if dj:
            sel &= fy > 0.0
        cov.touched[j[sel] + dj, i[sel] + di] = True
    return cov


def _touch_defaults(cov: MapCoverage) -> None:
    i, fx = locate(cov.x, np.asarray([AXIS_DEFAULTS.get(cov.x_unit, cov.x[0])]))
    j, fy = locate(cov.y, np.asarray([AXIS_DEFAULTS.get(cov.y_unit, cov.y[0])]))
    for di in (0, 1) if fx[0] > 0 else (0,):
        for dj in (0, 1) if fy[0] > 0 else (0,):
            cov.touched[j[0] + dj, i[0] + di] = True


def _in_window(t_ns: np.ndarray, window_ns: tuple[int, int]) -> np.ndarray:
    """Lookups whose value holds somewhere in [start, end] (the one held at start counts)."""
    start, end = window_ns
    sel = (t_ns >= start) & (t_ns <= end)
    k = int(np.searchsorted(t_ns, start, side="right")) - 1
    if k >= 0:
        sel[k] = True
    return sel


def expectation_window(exp: Any, duration_ns: int) -> tuple[int, int]:
    """The simulated-time window an expectation judges, in ns."""
    end = int(duration_ns)
    during = getattr(exp, "during", None)
    if during is not None:
        return int(during[0]), end if during[1] is None else int(during[1])
    if getattr(exp, "by_ns", None) is not None:            # settle
        until = getattr(exp, "until_ns", None)
        return int(exp.by_ns), end if until is None else int(until)
    if exp.kind == "value":
        at = end if exp.at_ns is None else int(exp.at_ns)
        return at, at
    if exp.kind == "eventually":
        after = exp.after
        if after is None:
            return 0, min(int(exp.within_ns), end)
        if isinstance(after, int):
            return after, min(after + int(exp.within_ns), end)
    return 0, end


def file_digest(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def record_run(trace: Any, calibration: Any, scenario: Any, end_ns: int,
               scalars_read: Iterable[str] = ()) -> dict[str, Any]:
    """The coverage record of one finished run (JSON-able)."""
    maps: dict[str, MapCoverage] = {}
    points: dict[tuple[str, str], Lookups] = {}
    for name, cal_map in calibration.maps.items():
        inputs = map_inputs(cal_map)
        if not all(trace.has(s) for s in inputs):
            continue
        if inputs not in points:
            points[inputs] = lookups(trace, inputs, end_ns)
        maps[name] = cover(cal_map, points[inputs], inputs)
        _touch_defaults(maps[name])
    expectations = []
    for k, exp in enumerate(scenario.expect):
        window = expectation_window(exp, scenario.duration_ns)
        cells = {}
        for name, cal_map in calibration.maps.items():
            if name not in maps:
                continue
            c = cover(cal_map, points[maps[name].inputs], maps[name].inputs, window)
            jj, ii = np.nonzero(c.samples)
            cells[name] = [[int(i), int(j), round(float(c.time_s[j, i]), 6)]
                           for i, j in zip(ii, jj, strict=True)]
        where = getattr(exp, "where", None)
        expectations.append({
            "index": k, "kind": exp.kind, "label": getattr(exp, "label", exp.kind),
            "where": ":".join(str(p) for p in where) if where else None,
            "window_s": [window[0] / 1e9, window[1] / 1e9], "cells": cells})
    return {
        "format": FORMAT,
        "scenario": scenario.name,
        "file": scenario.file,
        "scenario_sha256": file_digest(scenario.file) if scenario.file else None,
        "calibration": {"name": calibration.name, "path": str(calibration.path),
                        "sha256": file_digest(calibration.path)},
        "sim_s": end_ns / 1e9,
        "scalars_read": sorted(scalars_read),
        "maps": {name: c.to_json() for name, c in maps.items()},
        "expectations": expectations,
    }


def scalars_read(calibration: Any) -> list[str]:
    """Scalars the controllers read so far (see :func:`observe_scalars`)."""
    reads = getattr(calibration.scalars, "reads", None)
    return sorted(reads) if reads is not None else sorted(calibration.scalars)


class ScalarReads(dict):
    """The calibration's scalars, remembering which ones were read (by a controller's
    construction or step): what a scalar change can reach."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads: set[str] = set()

    def __getitem__(self, key: Any) -> Any:
        self.reads.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.reads.add(key)
        return super().get(key, default)


def observe_scalars(calibration: Any) -> Any:
    """Give the calibration a :class:`ScalarReads` (same values, same dict semantics)."""
    scalars = getattr(calibration, "scalars", None)
    if type(scalars) is dict:
        calibration.scalars = ScalarReads(scalars)
    return calibration


# -- aggregation and the index kept across runs -------------------------------------------


def load_record(path: str | Path) -> dict[str, Any] | None:
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("format") == FORMAT else None


def aggregate(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, MapCoverage]]:
    """Per calibration name, per map: the sum of the records' coverage."""
    out: dict[str, dict[str, MapCoverage]] = {}
    for rec in records:
        per = out.setdefault(rec["calibration"]["name"], {})
        for name, d in rec["maps"].items():
            c = MapCoverage.from_json(name, d)
            if name not in per:
                per[name] = MapCoverage.empty_like(c)
            if per[name].same_axes(c):
                per[name].add(c)
            else:
                # Breakpoints changed: the newest axes win, older records are left out.
                per[name] = c
    return out


def index_path(report_dir: str | Path) -> Path:
    return Path(report_dir) / "coverage" / "index.json"


def load_index(report_dir: str | Path) -> dict[str, Any]:
    path = index_path(report_dir)
    try:
        idx = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": INDEX_FORMAT, "calibrations": {}}
    except (OSError, ValueError) as exc:
        from hil.errors import ConfigError

        raise ConfigError(f"unreadable coverage index: {exc}", file=str(path), line=1,
                          column=1) from None
    if not isinstance(idx, dict) or idx.get("format") != INDEX_FORMAT:
        from hil.errors import ConfigError

        raise ConfigError(f"not a coverage index ({INDEX_FORMAT})", file=str(path), line=1,
                          column=1)
    return idx


def update_index(report_dir: str | Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Keep the newest record of every scenario, per calibration, across runs."""
    idx = load_index(report_dir)
    for rec in records:
        cal = idx["calibrations"].setdefault(rec["calibration"]["name"], {"scenarios": {}})
        cal["scenarios"][rec["scenario"]] = dict(rec)
    path = index_path(report_dir)
    # Compact: the index holds every scenario's record (MBs for a suite); indent=1 made
    # its encoding the largest cost of a suite's final reports after the heatmaps.
    atomic_write(path, json.dumps(idx, separators=(",", ":"), sort_keys=True))
    return path


def index_records(idx: Mapping[str, Any], calibration: str | None = None) -> list[dict[str, Any]]:
    out = []
    for name, cal in sorted(idx["calibrations"].items()):
        if calibration is None or name == calibration:
            out += [cal["scenarios"][s] for s in sorted(cal["scenarios"])]
    return out


def write_run_record(bench: Any, scenario: Any, out_dir: str | Path) -> str | None:
    """The runner's hook: ``out_dir/coverage.json`` of a finished SIL run (None when the
    bench has no calibration or no trace, e.g. a wall-clock rig with an external ECU)."""
    calibration = getattr(bench, "calibration", None)
    trace = getattr(bench, "trace", None)
    if calibration is None or trace is None or not hasattr(calibration, "maps"):
        return None
    rec = record_run(trace, calibration, scenario, int(bench.env.now),
                     scalars_read(calibration))
    path = Path(out_dir) / "coverage.json"
    atomic_write(path, json.dumps(rec, indent=1))
    return str(path)
