"""``hil sweep SPEC.yaml``: a grid or a seeded random sample of runs, on Dask.

A spec names a base scenario and the axes to vary: plant parameters (``params.<name>``),
calibration scalars (``scalars.<name>``) and operating points / initial conditions
(``initial.<name>``), each with ``values: [...]`` or ``range: [lo, hi]`` and ``steps``.
``mode: grid`` runs every combination, ``mode: random`` ``samples`` points drawn with
``seed`` (uniform in each range, or among the values). Every point is one Dask task
that builds its scenario (and, for scalars, its calibration) from text, runs it in SIL
and returns one row: the point's parameters, the verdicts, the tightest margin, the
chosen figures (``signal`` + ``stat`` over an optional window) and the trace digest.

Reproducible: a point's scenario and seed depend on the spec and its index only, the SIL
is deterministic, and rows are sorted by index, so one worker or many give the same
table (the trace digests prove it). Scheduler: a ``distributed.LocalCluster`` on this
machine (every socket on 127.0.0.1) or ``--scheduler tcp://HOST:PORT``.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from hil.config.units import UnitError, parse_time_ns
from hil.config.yamlio import LocDict, LocList, check_keys, error_at, load_yaml
from hil.errors import ConfigError
from hil.trace.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.cm import ScalarMappable

KINDS = ("params", "scalars", "initial")
STATS = ("max", "min", "mean", "final", "p99", "p1")
_SPEC_KEYS = ("name", "description", "scenario", "duration", "mode", "samples", "seed",
              "axes", "figures", "heatmap")


@dataclass(frozen=True)
class Axis:
    param: str                     # "params.engine.displacement_l", "scalars.overboost", ...
    values: tuple[float, ...] | None
    lo: float | None = None
    hi: float | None = None
    also: tuple[str, ...] = ()     # params set to the same value (engine.speed_rpm with dyno)

    @property
    def kind(self) -> str:
        return self.param.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.param.split(".", 1)[1]


@dataclass(frozen=True)
class Figure:
    name: str
    signal: str
    stat: str
    during: tuple[int, int | None] | None = None


@dataclass
class Spec:
    path: Path
    name: str
    scenario: Path
    duration: str | None
    mode: str
    samples: int
    seed: int
    axes: list[Axis]
    figures: list[Figure]
    heatmap: tuple[str, str, str] | None      # figure, x axis param, y axis param

    def points(self) -> list[dict[str, float]]:
        """The runs, in index order."""
        if self.mode == "grid":
            grids: list[tuple[float, ...]] = []
            for a in self.axes:
                assert a.values is not None  # load_spec gives every grid axis its values
                grids.append(a.values)
            return [dict(zip((a.param for a in self.axes), combo, strict=True))
                    for combo in itertools.product(*grids)]
        rng = np.random.default_rng(self.seed)
        out = []
        for _ in range(self.samples):
            point = {}
            for a in self.axes:
                if a.lo is not None and a.hi is not None:
                    point[a.param] = float(rng.uniform(a.lo, a.hi))
                else:
                    assert a.values is not None
                    point[a.param] = float(a.values[int(rng.integers(len(a.values)))])
            out.append(point)
        return out


def _number(d: Any, key: str, what: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise error_at(d.value_loc(key) or d.loc, f"{what}: {key}: expected a number, got {v!r}")
    return float(v)


def load_spec(path: str | Path) -> Spec:
    """Read and check a sweep spec; every mistake is one ``file:line:col`` line."""
    path = Path(path)
    raw = load_yaml(path)
    check_keys(raw, _SPEC_KEYS, what="sweep spec", required=("scenario", "axes"))
    scen = raw["scenario"]
    if not isinstance(scen, str):
        raise error_at(raw.value_loc("scenario"), "scenario: expected a scenario file path")
    scen_path = (path.parent / scen) if not Path(scen).is_absolute() else Path(scen)
    if not scen_path.exists() and Path(scen).exists():
        scen_path = Path(scen)
    if not scen_path.exists():
        raise error_at(raw.value_loc("scenario"), f"scenario: {scen!r} does not exist")
    mode = raw.get("mode", "grid")
    if mode not in ("grid", "random"):
        raise error_at(raw.value_loc("mode"), f"mode: 'grid' or 'random', got {mode!r}")
    samples = raw.get("samples", 0)
    if mode == "random" and (isinstance(samples, bool) or not isinstance(samples, int)
                             or samples < 1):
        raise error_at(raw.value_loc("samples") or raw.loc,
                       "samples: a random sweep needs a number of samples >= 1")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise error_at(raw.value_loc("seed"), f"seed: expected an integer, got {seed!r}")
    duration = raw.get("duration")
    if duration is not None:
        try:
            parse_time_ns(duration)
        except UnitError as exc:
            raise error_at(raw.value_loc("duration"), f"duration: {exc}") from None
    axes_raw = raw["axes"]
    if not isinstance(axes_raw, LocList) or not axes_raw:
        raise error_at(raw.value_loc("axes"), "axes: expected a non-empty list")
    axes = []
    for k, a in enumerate(axes_raw):
        what = f"axis {k + 1}"
        if not isinstance(a, LocDict):
            raise error_at(axes_raw.item_loc(k), f"{what}: expected {{param, values | range}}")
        check_keys(a, ("param", "values", "range", "steps", "also"), what=what,
                   required=("param",))
        param = a["param"]
        also = a.get("also", [])
        if not isinstance(also, list):
            raise error_at(a.value_loc("also"), f"{what}: also: expected a list of params")
        for key, p in [("param", param)] + [("also", p) for p in also]:
            if not isinstance(p, str) or p.split(".", 1)[0] not in KINDS or "." not in p:
                raise error_at(a.value_loc(key), f"{what}: {key}: expected one of "
                               f"{', '.join(k + '.<name>' for k in KINDS)}, got {p!r}")
        also = tuple(also)
        if ("values" in a) == ("range" in a):
            raise error_at(a.loc, f"{what}: exactly one of values: and range:")
        if "values" in a:
            vals = a["values"]
            if (not isinstance(vals, list) or not vals
                    or not all(isinstance(v, int | float) and not isinstance(v, bool)
                               for v in vals)):
                raise error_at(a.value_loc("values"), f"{what}: values: a list of numbers")
            axes.append(Axis(param, tuple(float(v) for v in vals), also=also))
            continue
        rng = a["range"]
        if (not isinstance(rng, list) or len(rng) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in rng)
                or rng[0] > rng[1]):
            raise error_at(a.value_loc("range"), f"{what}: range: [lo, hi] with lo <= hi")
        steps = a.get("steps")
        if mode == "grid":
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
                raise error_at(a.value_loc("steps") or a.loc,
                               f"{what}: a grid range needs steps: (an integer >= 1)")
            vals = np.linspace(rng[0], rng[1], steps) if steps > 1 else np.asarray([rng[0]])
            axes.append(Axis(param, tuple(round(float(v), 9) for v in vals), float(rng[0]),
                             float(rng[1]), also))
        else:
            axes.append(Axis(param, None, float(rng[0]), float(rng[1]), also))
    if len({a.param for a in axes}) != len(axes):
        raise error_at(raw.value_loc("axes"), "axes: a param is swept twice")
    figures = _figures(raw)
    heatmap = None
    if "heatmap" in raw:
        h = raw["heatmap"]
        check_keys(h, ("figure", "x", "y"), what="heatmap", required=("figure", "x", "y"))
        names = [f.name for f in figures] + ["min_margin"]
        if h["figure"] not in names:
            raise error_at(h.value_loc("figure"), f"heatmap: figure: {h['figure']!r} is not "
                           f"one of {', '.join(names)}")
        for key in ("x", "y"):
            if h[key] not in [a.param for a in axes]:
                raise error_at(h.value_loc(key), f"heatmap: {key}: {h[key]!r} is not a swept "
                               "param")
        heatmap = (h["figure"], h["x"], h["y"])
    return Spec(path, str(raw.get("name", path.stem)), scen_path, duration, mode,
                int(samples or 0), seed, axes, figures, heatmap)


def _figures(raw: Any) -> list[Figure]:
    out = []
    items = raw.get("figures", LocList())
    if not isinstance(items, LocList):
        raise error_at(raw.value_loc("figures"), "figures: expected a list")
    for k, f in enumerate(items):
        what = f"figure {k + 1}"
        if not isinstance(f, LocDict):
            raise error_at(items.item_loc(k), f"{what}: expected {{name, signal, stat}}")
        check_keys(f, ("name", "signal", "stat", "during"), what=what,
                   required=("name", "signal", "stat"))
        if f["stat"] not in STATS:
            raise error_at(f.value_loc("stat"), f"{what}: stat: one of {', '.join(STATS)}, "
                           f"got {f['stat']!r}")
        during = None
        if "during" in f:
            d = f["during"]
            try:
                if not isinstance(d, list) or len(d) != 2:
                    raise UnitError("expected [start, end] (end may be 'end')")
                during = (parse_time_ns(d[0]), None if d[1] == "end" else parse_time_ns(d[1]))
            except UnitError as exc:
                raise error_at(f.value_loc("during"), f"{what}: during: {exc}") from None
        out.append(Figure(str(f["name"]), str(f["signal"]), str(f["stat"]), during))
    return out


# -- one point: the task a worker runs ------------------------------------------------------


def point_texts(spec: Spec, point: Mapping[str, float], index: int) -> dict[str, Any]:
    """What a worker needs for one run, as plain text (no path of this machine matters
    except the rig and the shipped sets the installed project resolves itself)."""
    raw = yaml.safe_load(spec.scenario.read_text(encoding="utf-8"))
    raw["name"] = f"{spec.name}_{index:04d}"
    raw["seed"] = int(raw.get("seed", 0)) + spec.seed * 1_000_003 + index
    if spec.duration is not None:
        raw["duration"] = spec.duration
        # Steps and windows beyond a shortened duration would not load: keep those inside.
        end = parse_time_ns(spec.duration)
        raw["steps"] = [s for s in raw.get("steps", []) or []
                        if "at" not in s or parse_time_ns(s["at"]) <= end]
        raw["expect"] = [e for e in raw.get("expect", []) or [] if _fits(e, end)]
    cal_text = None
    point = dict(point)
    expanded = dict(point)
    for a in spec.axes:
        for other in a.also:
            expanded[other] = point[a.param]
    for param, value in expanded.items():
        kind, key = param.split(".", 1)
        if kind == "params":
            raw.setdefault("params", {})[key] = value
        elif kind == "initial":
            raw.setdefault("initial", {})[key] = value
    scalars = {p.split(".", 1)[1]: v for p, v in expanded.items() if p.startswith("scalars.")}
    if scalars:
        from hil.calibration.diff import override_scalars

        cal_text = override_scalars(_calibration_text(spec, raw), scalars,
                                    file=str(spec.path), what="sweep: scalars")
    if raw.get("rig") is not None:
        from hil.config.rig import resolve_rig_path

        raw["rig"] = str(resolve_rig_path(raw["rig"], str(spec.scenario)))
    return {"index": index, "point": dict(point), "scenario": yaml.safe_dump(raw, sort_keys=False),
            "calibration": cal_text,
            "figures": [vars(f) for f in spec.figures]}


def _fits(exp: Any, end: int) -> bool:
    """An expectation whose times all lie within ``end``."""
    text = json.dumps(exp)
    import re

    for m in re.finditer(r'"(\d+(?:\.\d+)?\s*(?:ns|us|ms|s|min|h))"', text):
        try:
            if parse_time_ns(m.group(1)) > end:
                return False
        except UnitError:
            continue
    return True


def _calibration_text(spec: Spec, raw: Mapping[str, Any]) -> str:
    from hil.calibration.diff import calibration_of
    from hil.run.runner import load

    with tempfile.TemporaryDirectory(prefix="hil-sweep-") as tmp:
        p = Path(tmp) / "scenarios" / "probe.yaml"
        p.parent.mkdir()
        p.write_text(yaml.safe_dump(dict(raw), sort_keys=False))
        cal = calibration_of(None)(load(p))
    if cal is None:
        raise ConfigError("sweep: scalars.* needs a scenario whose rig runs the n.Tec ECU",
                          file=str(spec.path))
    return Path(cal.path).read_text(encoding="utf-8")


def warm_up(task: Mapping[str, Any]) -> None:
    """Load ``task``'s scenario and assemble its bench, running nothing: the imports,
    this process's caches (vocabulary, calibration) and the compiled plant step are warm
    for the points that follow
    (:class:`hil.calibration.sweep_worker.WarmUp`)."""
    from hil.bench import open_bench
    from hil.config.rig import load_rig, resolve_rig_path
    from hil.run.runner import load

    with tempfile.TemporaryDirectory(prefix="hil-sweep-") as tmp:
        d = Path(tmp) / "scenarios"
        d.mkdir()
        raw = yaml.safe_load(task["scenario"])
        path = d / f"{raw['name']}.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        scenario = load(path)
        rig = load_rig(resolve_rig_path(scenario.rig, scenario.file))
        bench = open_bench(rig, plant_params=scenario.plant, overrides=dict(scenario.params),
                           calibration=scenario.calibration, seed=scenario.seed)
        try:
            # A compiled plant loads its machine code at its first step (0.3-0.7 s):
            # here, not in the worker's first point.
            warm = getattr(bench.plant, "warm_up", None)
            if callable(warm):
                warm()
        finally:
            bench.close()


def run_point(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one point (on a Dask worker) and return its row."""
    from hil.run.runner import load, run_scenario

    figs = [Figure(f["name"], f["signal"], f["stat"],
                   tuple(f["during"]) if f["during"] else None) for f in task["figures"]]
    values: dict[str, float | None] = {}

    def measure(bench: Any) -> None:
        for f in figs:
            values[f.name] = figure_value(bench.trace, f, int(bench.env.now))

    with tempfile.TemporaryDirectory(prefix="hil-sweep-") as tmp:
        d = Path(tmp) / "scenarios"
        d.mkdir()
        scen_raw = yaml.safe_load(task["scenario"])
        if task["calibration"] is not None:
            (d / "calibration.yaml").write_text(task["calibration"])
            scen_raw["calibration"] = str(d / "calibration.yaml")
        path = d / f"{scen_raw['name']}.yaml"
        path.write_text(yaml.safe_dump(scen_raw, sort_keys=False))
        result = run_scenario(load(path), formats=(), plots=False, after_run=measure)
    summary = result.summary()
    margins = [v.get("relative_margin") for v in summary["verdicts"]
               if v.get("relative_margin") is not None]
    row: dict[str, Any] = {"run": task["index"], "seed": scen_raw.get("seed", 0)}
    row.update(task["point"])
    row.update({"status": summary["status"], "passed": summary["passed"],
                "failed": sum(not v["passed"] for v in summary["verdicts"]),
                "verdicts": "".join("P" if v["passed"] else "F" for v in summary["verdicts"]),
                "min_margin": min(margins) if margins else None,
                "error": summary["error"] or ""})
    row.update(values)
    row["trace_sha256"] = summary.get("trace_sha256")
    row["sim_s"] = summary["sim_s"]
    return row


def figure_value(trace: Any, f: Figure, end_ns: int) -> float | None:
    if not trace.has(f.signal):
        return None
    s = trace.signal(f.signal)
    t, v = np.asarray(s.t_ns), np.asarray(s.values, dtype=np.float64)
    if f.during is not None:
        start, stop = f.during[0], end_ns if f.during[1] is None else f.during[1]
        keep = (t >= start) & (t <= stop)
        t, v = t[keep], v[keep]
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    stats: dict[str, Callable[[np.ndarray], Any]] = {
        "max": np.max, "min": np.min, "mean": np.mean, "final": lambda a: a[-1],
        "p99": lambda a: np.percentile(a, 99), "p1": lambda a: np.percentile(a, 1)}
    return float(stats[f.stat](v))


# -- the cluster ----------------------------------------------------------------------------


def local_cluster(workers: int, *, processes: bool = True) -> Any:
    """A LocalCluster whose scheduler, workers and HTTP servers listen on 127.0.0.1 only."""
    from distributed import LocalCluster

    # tcp on 127.0.0.1 for in-process workers too (their default inproc transport does not
    # take a host): the same transport as worker processes, and still loopback only.
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                        host="127.0.0.1", protocol="tcp://", scheduler_port=0,
                        # The scheduler's and workers' HTTP servers (health, metrics; the
                        # dashboard without bokeh) always start: loopback, any free port
                        # (dashboard_address=None would still take 127.0.0.1:8787).
                        dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")


class Cluster:
    """The sweep's Dask client (and LocalCluster), started in a thread: ``hil sweep``
    checks every point meanwhile, and a LocalCluster's workers warm up (``warm``: one
    point's task, :class:`hil.calibration.sweep_worker.WarmUp`) while it does. :meth:`client` waits
    for it; :meth:`close` closes what was started (also after a failed check)."""

    def __init__(self, *, scheduler: str | None = None, workers: int = 2,
                 processes: bool = True, warm: Mapping[str, Any] | None = None) -> None:
        import logging
        import threading

        # The nanny's "still alive, killing" on close of a busy worker is not the user's news.
        logging.getLogger("distributed").setLevel(logging.ERROR)
        self._cluster: Any = None
        self._client: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="hil-sweep-cluster",
                                        args=(scheduler, workers, processes, warm),
                                        daemon=True)
        self._thread.start()

    def _start(self, scheduler: str | None, workers: int, processes: bool,
               warm: Mapping[str, Any] | None) -> None:
        try:
            from distributed import Client

            if scheduler is None:
                self._cluster = local_cluster(workers, processes=processes)
            self._client = Client(scheduler or self._cluster, set_as_default=False)
            # Only on our own LocalCluster: a plugin registered on an existing cluster
            # would stay with its scheduler and warm every worker it starts later.
            if warm is not None and scheduler is None:
                from hil.calibration.sweep_worker import WarmUp

                self._client.register_plugin(WarmUp(warm))
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            self._error = exc

    def client(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._client

    def close(self) -> None:
        self._thread.join()
        try:
            if self._client is not None:
                self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def run_tasks(tasks: Sequence[Mapping[str, Any]], *, scheduler: str | None = None,
              workers: int = 2, processes: bool = True, progress_bar: bool = True,
              fn: Callable[[Mapping[str, Any]], Any] = run_point,
              cluster: Cluster | None = None) -> list[Any]:
    """Run ``fn`` over ``tasks`` on Dask (``cluster``, else one started here, closed
    afterwards either way); results in task order."""
    cluster = cluster or Cluster(scheduler=scheduler, workers=workers, processes=processes)
    try:
        client = cluster.client()
        futures = client.map(fn, list(tasks), pure=False)
        if progress_bar:
            from distributed.diagnostics.progressbar import progress

            progress(futures, notebook=False, multi=False)
        return list(client.gather(futures))
    finally:
        cluster.close()


def run_sweep(spec: Spec, **kwargs: Any) -> list[dict[str, Any]]:
    tasks = [point_texts(spec, p, k) for k, p in enumerate(spec.points())]
    return sorted(run_tasks(tasks, **kwargs), key=lambda r: r["run"])


# -- outputs --------------------------------------------------------------------------------


def columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))


def write_tables(rows: Sequence[Mapping[str, Any]], out_dir: Path) -> tuple[Path, Path]:
    """results.csv and results.parquet (pyarrow), each complete or absent."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hil.trace.files import atomic_output

    cols = columns(rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    csv_path = out_dir / "results.csv"
    atomic_write(csv_path, buf.getvalue())
    table = pa.Table.from_pylist([{k: r.get(k) for k in cols} for r in rows])
    pq_path = out_dir / "results.parquet"
    with atomic_output(pq_path) as tmp:
        pq.write_table(table, tmp)
    return csv_path, pq_path


def heatmap_grid(rows: Sequence[Mapping[str, Any]], figure: str, x: str, y: str
                 ) -> tuple[list[float], list[float], np.ndarray]:
    """Mean of ``figure`` per (x, y) value pair (other axes averaged out)."""
    xs = sorted({float(r[x]) for r in rows})
    ys = sorted({float(r[y]) for r in rows})
    acc = np.zeros((len(ys), len(xs)))
    n = np.zeros((len(ys), len(xs)))
    for r in rows:
        v = r.get(figure)
        if v is None or not math.isfinite(float(v)):
            continue
        j, i = ys.index(float(r[y])), xs.index(float(r[x]))
        acc[j, i] += float(v)
        n[j, i] += 1
    with np.errstate(invalid="ignore"):
        return xs, ys, np.where(n > 0, acc / np.maximum(n, 1), np.nan)


def heatmap_png(rows: Sequence[Mapping[str, Any]], spec: Spec, path: Path) -> Path | None:
    if spec.heatmap is None:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    from hil.trace.files import atomic_output

    figure, x, y = spec.heatmap
    fig = MplFigure(figsize=(7.5, 5.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im: ScalarMappable
    if spec.mode == "grid":
        xs, ys, grid = heatmap_grid(rows, figure, x, y)
        im = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto",
                       cmap="viridis", interpolation="nearest")
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs], fontsize=7, rotation=45)
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys], fontsize=7)
        for j in range(len(ys)):
            for i in range(len(xs)):
                if np.isfinite(grid[j, i]):
                    ax.text(i, j, f"{grid[j, i]:.3g}", ha="center", va="center",
                            color="white", fontsize=6)
    else:
        vals = [r.get(figure) for r in rows]
        ok = [k for k, v in enumerate(vals) if v is not None]
        im = ax.scatter([rows[k][x] for k in ok], [rows[k][y] for k in ok],
                        c=[v for v in vals if v is not None], cmap="viridis", s=40)
    failed = [r for r in rows if not r["passed"]]
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{spec.name}: {figure} ({len(rows)} runs, {len(failed)} failed)", fontsize=9)
    fig.colorbar(im, ax=ax, label=figure)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    return path


def write_html(rows: Sequence[Mapping[str, Any]], spec: Spec, out_dir: Path,
               png: Path | None, wall_s: float, where: str) -> Path:
    import base64

    e = html.escape
    cols = columns(rows)
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>{e(spec.name)} sweep</title><style>body{{font:14px system-ui,sans-serif;"
           "margin:24px}} table{border-collapse:collapse} td,th{border:1px solid #ccc;"
           "padding:3px 6px} .fail{color:#b00020;font-weight:bold} img{max-width:100%}"
           "</style></head><body>", f"<h1>{e(spec.name)}: {len(rows)} runs</h1>",
           f"<p>base scenario {e(str(spec.scenario))}; mode {e(spec.mode)}, seed {spec.seed}; "
           f"{sum(r['passed'] for r in rows)} passed; {wall_s:.1f} s wall on {e(where)}</p>"]
    if png is not None:
        b64 = base64.b64encode(png.read_bytes()).decode("ascii")
        out.append(f"<img alt='heatmap' src='data:image/png;base64,{b64}'>")
    out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>")
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            text = f"{v:.6g}" if isinstance(v, float) else ("" if v is None else str(v))
            if c == "trace_sha256" and text:
                text = text[:12]
            cls = " class='fail'" if c == "status" and v != "pass" else ""
            cells.append(f"<td{cls}>{e(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></body></html>")
    path = out_dir / "sweep.html"
    atomic_write(path, "\n".join(out))
    return path
