"""``hil search``: property-based fault search in SIL, shrunk to a replayable scenario.

Hypothesis draws a :class:`Candidate` from the spec's space (operating point, plant
parameters, vehicle mode, up to N faults with time, duration and severity). The candidate is
written as an ordinary scenario YAML, loaded by the scenario loader (so every name is
checked as for ``hil run``) and run on the SIL bench, which is bit-reproducible. The
smallest margin of each property is fed to ``hypothesis.target`` (negated: hypothesis
maximises), so the search climbs towards violations; a failing candidate is shrunk by
hypothesis: fewer faults, earlier, shorter, milder, then the simplest operating point (the
first value of every range). The minimal counterexample is written to
``<report>/search/<name>/counterexample.yaml`` and replayed with the runner ``hil run``
uses, which must give the same verdicts and the same trace hash.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hil.config.rig import REPO_ROOT, resolve_rig_path
from hil.config.units import format_time_ns, parse_time_ns
from hil.run.runner import ScenarioResult, load, run_scenario, vocabulary_for
from hil.scenario.model import Vocabulary, loads_scenario
from hil.search.spec import SearchSpec, load_spec
from hil.trace.files import atomic_write

__all__ = ["Candidate", "SearchResult", "run_search", "load_search_spec", "scenario_text"]


@dataclass(frozen=True)
class PlacedFault:
    kind: int                     # index into spec.fault_kinds
    at_ns: int
    duration_ns: int
    severity: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Candidate:
    initial: tuple[tuple[str, float], ...]
    mode: str | None
    params: tuple[tuple[str, float], ...]
    faults: tuple[PlacedFault, ...]
    scalars: tuple[tuple[str, float], ...] = ()    # calibration scalars

    def describe(self, spec: SearchSpec) -> str:
        parts = [f"{n}={v:g}" for n, v in self.initial + self.params]
        parts += [f"scalars.{n}={v:g}" for n, v in self.scalars]
        if self.mode:
            parts.append(f"mode={self.mode}")
        for f in self.faults:
            kind = spec.fault_kinds[f.kind]
            sev = ", ".join(f"{k}={v:g}" for k, v in f.severity)
            span = f" for {format_time_ns(f.duration_ns)}" if kind.timed else ""
            parts.append(f"[{kind.label} at {format_time_ns(f.at_ns)}{span}"
                         + (f" {sev}" if sev else "") + "]")
        return ", ".join(parts) if parts else "the nominal scenario (no fault)"


@dataclass
class SearchResult:
    spec: SearchSpec
    examples: int = 0
    failures: int = 0
    shrink_runs: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    stopped_by: str = "max-examples"
    smallest: dict[str, dict[str, Any]] = field(default_factory=dict)
    shrink_steps: list[str] = field(default_factory=list)
    counterexample: Candidate | None = None
    #: the hypothesis seed of the search that found it (a worker's, with -n)
    found_seed: int | None = None
    counterexample_path: str | None = None
    search_result: ScenarioResult | None = None
    replay: ScenarioResult | None = None

    @property
    def found(self) -> bool:
        return self.counterexample is not None

    @property
    def replay_identical(self) -> bool | None:
        if self.search_result is None or self.replay is None:
            return None
        return (self.search_result.trace_sha256 == self.replay.trace_sha256 and
                [v.passed for v in self.search_result.verdicts] ==
                [v.passed for v in self.replay.verdicts])

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.spec.name, "spec": self.spec.file,
            "description": self.spec.description, "seed": self.spec.seed,
            "examples": self.examples, "failing_examples": self.failures,
            "shrink_runs": self.shrink_runs, "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3), "stopped_by": self.stopped_by,
            "smallest_margin": self.smallest, "shrink_steps": self.shrink_steps,
            "found": self.found,
        }
        if self.counterexample is not None:
            out["counterexample"] = {
                "file": self.counterexample_path,
                "description": self.counterexample.describe(self.spec),
                "faults": len(self.counterexample.faults),
                "failed": [str(v) for v in (self.search_result.verdicts
                                            if self.search_result else []) if not v.passed],
                "error": self.search_result.error if self.search_result else None,
                "trace_sha256": self.search_result.trace_sha256 if self.search_result else None,
                "replay_trace_sha256": self.replay.trace_sha256 if self.replay else None,
                "replay_identical": self.replay_identical,
                "artifacts": dict(self.replay.artifacts) if self.replay else {},
            }
        return out


# -- the spec and its vocabulary ----------------------------------------------------------


def load_search_spec(path: str | Path, *, rig: str | Path | None = None) -> SearchSpec:
    """Load and check a spec; also load the nominal candidate (no fault, every range at
    its first value), so a spec whose scenario cannot load fails before anything runs."""

    def vocab_for(spec_rig: str | None, base_file: str, plant: str | None = None) -> Vocabulary:
        return vocabulary_for(resolve_rig_path(rig if rig is not None else spec_rig,
                                               base_file), plant)

    spec = load_spec(path, vocab_for)
    vocab = vocab_for(spec.rig, spec.base_file, spec.base.get("plant"))
    nominal = Candidate(tuple((n, r.values()[0]) for n, r in spec.operating_point.items()),
                        spec.modes[0] if spec.modes else None,
                        tuple((n, r.values()[0]) for n, r in spec.params.items()), ())
    if spec.scalars:
        _check_scalars(spec, rig)
    text = scenario_text(spec, nominal, rig_ref=_rig_ref(spec, rig))
    try:
        loads_scenario(text, vocab, spec.file)
    except Exception as exc:  # a HilError with a position in the generated text
        message = getattr(exc, "message", str(exc))
        from hil.search.spec import SpecError

        loc = spec.locs.get("properties") or spec.locs.get("base") or spec.where
        raise SpecError(f"the searched scenario does not load: {message}",
                        file=loc[0] if loc else spec.file, line=loc[1] if loc else None,
                        column=loc[2] if loc else None) from None
    for kind in spec.fault_kinds:  # every fault kind at its first values loads too
        at = spec.fault_window_ns[0]
        probe = Candidate(nominal.initial, nominal.mode, nominal.params, (PlacedFault(
            spec.fault_kinds.index(kind), at, spec.fault_duration_ns[0],
            tuple((k, r.values()[0]) for k, r in kind.ranges.items())),))
        try:
            loads_scenario(scenario_text(spec, probe, rig_ref=_rig_ref(spec, rig)), vocab,
                           spec.file)
        except Exception as exc:
            from hil.search.spec import SpecError

            loc = kind.where
            raise SpecError(f"fault kind {kind.label}: {getattr(exc, 'message', exc)}",
                            file=loc[0] if loc else spec.file, line=loc[1] if loc else None,
                            column=loc[2] if loc else None) from None
    return spec


def base_calibration_text(spec: SearchSpec, rig: str | Path | None) -> str:
    """The text of the calibration the spec's base scenario runs with (its
    ``calibration:``, else the rig's ECU default)."""
    from hil.calibration.diff import calibration_of
    from hil.search.spec import SpecError

    rig_ref = _rig_ref(spec, rig)
    with tempfile.TemporaryDirectory(prefix="hil-search-") as tmp:
        probe = Path(tmp) / "probe.yaml"
        base = {k: v for k, v in spec.base.items() if k != "calibration"}
        calibration = spec.base.get("calibration")
        if isinstance(calibration, str) and ("/" in calibration or
                                             calibration.endswith((".yaml", ".yml"))):
            calibration = str((Path(spec.base_file).parent / calibration).resolve())
        doc = {**base, "duration": "1 ms", "steps": [], "expect": []}
        if calibration is not None:
            doc["calibration"] = calibration
        if rig_ref is not None:
            doc["rig"] = str(resolve_rig_path(rig_ref, str(REPO_ROOT / "x.yaml")))
        probe.write_text(yaml.safe_dump(doc, sort_keys=False))
        cal = calibration_of(None)(load(probe))
    if cal is None:
        loc = spec.locs.get("scalars") or spec.where
        raise SpecError("scalars: the rig runs no ECU of this project with a calibration",
                        file=loc[0] if loc else spec.file, line=loc[1] if loc else None,
                        column=loc[2] if loc else None)
    return Path(cal.path).read_text(encoding="utf-8")


def _check_scalars(spec: SearchSpec, rig: str | Path | None) -> None:
    from hil.calibration.diff import scalar_names
    from hil.config.yamlio import closest
    from hil.search.spec import SpecError

    known = scalar_names(base_calibration_text(spec, rig))
    for name in spec.scalars:
        if name not in known:
            loc = spec.locs.get(f"scalars.{name}") or spec.where
            raise SpecError(f"unknown calibration scalar {name!r}{closest(name, known)}",
                            file=loc[0] if loc else spec.file, line=loc[1] if loc else None,
                            column=loc[2] if loc else None)


class CalibrationFiles:
    """Calibration files of candidates with scalars: the base calibration with the
    candidate's scalars set, written once per content under ``<out>/calibrations/`` and
    named relative to the counterexample's folder (scenarios there name it)."""

    def __init__(self, spec: SearchSpec, rig: str | Path | None, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.base = base_calibration_text(spec, rig) if spec.scalars else ""
        self.file = spec.file

    def text(self, cand: Candidate) -> str:
        from hil.calibration.diff import override_scalars

        return override_scalars(self.base, dict(cand.scalars), file=self.file)

    def ref(self, cand: Candidate) -> str | None:
        if not cand.scalars:
            return None
        import hashlib

        text = self.text(cand)
        name = f"calibrations/{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
        path = self.out_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, text)
        return name


def _rig_ref(spec: SearchSpec, rig: str | Path | None) -> str | None:
    """The rig as the counterexample names it: relative to the repository when inside it
    (portable), else absolute."""
    ref = rig if rig is not None else spec.rig
    if ref is None:
        return None
    path = resolve_rig_path(ref, spec.base_file if rig is None else None)
    try:
        return str(path.resolve().relative_to(REPO_ROOT.resolve()))
    except ValueError:
        return str(path.resolve())


# -- candidate -> scenario ------------------------------------------------------------------


def _time_text(ns: int) -> str:
    if ns % 1_000_000 == 0:
        return f"{ns // 1_000_000} ms"
    if ns % 1_000 == 0:
        return f"{ns // 1_000} us"
    return f"{ns} ns"


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def scenario_text(spec: SearchSpec, cand: Candidate, *, rig_ref: str | None,
                  name: str | None = None, calibration: str | None = None) -> str:
    """The candidate as an ordinary scenario YAML document (``calibration``: the file of
    the candidate's calibration scalars, relative to where the scenario is written)."""
    base = spec.base
    doc: dict[str, Any] = {
        "name": name or f"{spec.name}-counterexample",
        "description": (f"Found by hil search from {Path(spec.file).name} (seed {spec.seed}): "
                        f"{cand.describe(spec)}."),
        "tags": sorted({*base.get("tags", ()), "search"}),
        "duration": _time_text(spec.duration_ns),
        "seed": base.get("seed", 0),
    }
    if rig_ref is not None:
        doc["rig"] = rig_ref
    for key in ("calibration", "plant"):
        if key in base:
            doc[key] = base[key]
    if calibration is not None:
        doc["calibration"] = calibration
    params = dict(base.get("params") or {})
    params.update({n: _number(v) for n, v in cand.params})
    if params:
        doc["params"] = params
    mode = cand.mode or base.get("mode")
    if mode:
        doc["mode"] = mode
    for key, needs in (("track", "track"), ("profile", "road")):
        if key in base and mode == needs:
            doc[key] = base[key]
    initial = dict(base.get("initial") or {})
    initial.update({n: _number(v) for n, v in cand.initial})
    if initial:
        doc["initial"] = initial
    steps: list[tuple[int, int, dict[str, Any]]] = []
    for i, step in enumerate(base.get("steps") or ()):
        at = parse_time_ns(step["at"])
        if at <= spec.duration_ns:
            steps.append((at, i, dict(step)))
    for j, f in enumerate(sorted(cand.faults, key=lambda f: (f.at_ns, f.kind))):
        kind = spec.fault_kinds[f.kind]
        fault = dict(kind.fixed)
        fault.update({k: _number(v) for k, v in f.severity})
        if kind.timed:
            fault["duration"] = _time_text(f.duration_ns)
        steps.append((f.at_ns, 10_000 + j, {"at": _time_text(f.at_ns),
                                            "name": f"searched fault {j + 1}", "fault": fault}))
    if steps:
        doc["steps"] = [s for _, _, s in sorted(steps, key=lambda s: (s[0], s[1]))]
    doc["expect"] = list(spec.properties)
    return yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)


# -- the search -------------------------------------------------------------------------------


class PropertyFalsified(AssertionError):
    """A candidate broke a property (raised inside hypothesis so that it shrinks)."""


def _strategy(spec: SearchSpec) -> Any:
    from hypothesis import strategies as st

    def values(ranges: Any) -> Any:
        return st.tuples(*[st.tuples(st.just(n), st.sampled_from(r.values()))
                           for n, r in ranges.items()])

    kinds = []
    w0, w1 = spec.fault_window_ns
    d0, d1 = spec.fault_duration_ns
    step = spec.fault_step_ns
    for i, kind in enumerate(spec.fault_kinds):
        kinds.append(st.builds(
            PlacedFault, st.just(i),
            st.integers(0, (w1 - w0) // step).map(lambda k: w0 + k * step),
            st.integers(0, max((d1 - d0) // step, 0)).map(lambda k: d0 + k * step)
            if kind.timed else st.just(0),
            values(kind.ranges)))
    faults = (st.lists(st.one_of(*kinds), max_size=spec.max_faults).map(tuple)
              if kinds else st.just(()))
    return st.builds(Candidate, values(spec.operating_point),
                     st.sampled_from(spec.modes) if spec.modes else st.none(),
                     values(spec.params), faults, values(spec.scalars))


def _margin_key(v: Any) -> float | None:
    rel = v.relative_margin
    value = rel if rel is not None else v.margin
    return None if value is None or not math.isfinite(value) else float(value)


def run_search(spec: SearchSpec, *, max_examples: int = 200, time_s: float = 600.0,
               report_dir: str | Path = "reports", rig: str | Path | None = None,
               seed: int | None = None, fresh: bool = False, max_shrinks: int = 100,
               workers: int = 1,
               progress: Callable[[str], None] | None = None) -> SearchResult:
    """Search for a counterexample; write it (and the search summary) under
    ``report_dir/search/<name>/``.

    With ``workers`` > 1 the budget is split over that many processes, each a hypothesis
    search of its own seed (:func:`worker_seed`) and example database; the counterexample
    kept is the one with the fewest faults (then the lowest worker), so the result is
    deterministic given the seed and the number of workers."""
    out_dir = Path(report_dir) / "search" / spec.name
    db_dir = out_dir / "hypothesis-db"
    if fresh and db_dir.exists():
        shutil.rmtree(db_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cx_path = out_dir / "counterexample.yaml"
    rig_ref = _rig_ref(spec, rig)
    say = progress or (lambda _line: None)
    if seed is not None:
        spec = _with_seed(spec, seed)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    workers = max(1, min(workers, max_examples))
    say(f"hil search: {spec.name}: up to {max_examples} examples or {time_s:g} s, seed "
        f"{spec.seed}" + (f", {workers} workers" if workers > 1 else "") + f" ({spec.file})")
    cal_path = out_dir / "counterexample.calibration.yaml"
    if workers == 1:
        result = _explore(spec, max_examples, t0 + time_s, db_dir, max_shrinks, rig, rig_ref,
                          cx_path, say, t0)
    else:
        result, cpu = _explore_in_parallel(spec, max_examples, time_s, db_dir, max_shrinks,
                                           rig, rig_ref, cx_path, workers,
                                           progress is not None)
        cpu0 -= cpu   # the workers' CPU time counts as the search's
    cand = result.counterexample
    text = None
    if cand is not None:
        # The counterexample as its own files: the scenario, and next to it the
        # calibration of its scalars (a regression scenario is these two files).
        found = _with_seed(spec, result.found_seed if result.found_seed is not None
                           else spec.seed)
        calibration = None
        if cand.scalars:
            atomic_write(cal_path, CalibrationFiles(spec, rig, out_dir).text(cand))
            calibration = cal_path.name
        text = scenario_text(found, cand, rig_ref=rig_ref, calibration=calibration)
        if result.search_result is None:
            # The worker's run, again in this process (SIL is bit-reproducible): its
            # verdicts and trace hash are what the replay below is compared with.
            vocab = vocabulary_for(_rig_path(rig_ref, cx_path), spec.base.get("plant"))
            result.search_result = run_scenario(
                loads_scenario(text, vocab, str(cx_path)), rig=_rig_path(rig_ref, cx_path),
                report_dir=None, formats=(), plots=False)
    result.wall_s = time.perf_counter() - t0
    result.cpu_s = time.process_time() - cpu0
    if cand is None and cal_path.exists():
        cal_path.unlink()
    if cand is not None and text is not None:
        atomic_write(cx_path, text)
        result.counterexample_path = str(cx_path)
        # Replay exactly as `hil run` would: the file, through the runner's loader.
        scenario = load(cx_path)
        result.replay = run_scenario(scenario, report_dir=out_dir, formats=("blf", "mf4"),
                                     plots=True)
    elif cx_path.exists():
        cx_path.unlink()  # a stale counterexample of an earlier search is not this result
    atomic_write(out_dir / "search.json", json.dumps(result.summary(), indent=2,
                                                      default=str))
    return result


def worker_seed(seed: int, worker: int) -> int:
    """The hypothesis seed of worker ``worker`` of a parallel search (worker 0: the seed)."""
    return seed + 1_000_003 * worker


def _rig_path(rig_ref: str | None, cx_path: Path) -> Path:
    return resolve_rig_path(rig_ref, str(cx_path)) if rig_ref else resolve_rig_path(None)


def _explore(spec: SearchSpec, max_examples: int, deadline: float, db_dir: Path,
             max_shrinks: int, rig: str | Path | None, rig_ref: str | None, cx_path: Path,
             say: Callable[[str], None], t0: float) -> SearchResult:
    """One hypothesis search: the result (counterexample with the run that failed,
    counts, margins)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings, target
    from hypothesis import seed as hypothesis_seed
    from hypothesis.database import DirectoryBasedExampleDatabase

    rig_path = _rig_path(rig_ref, cx_path)
    vocab = vocabulary_for(rig_path, spec.base.get("plant"))
    calibrations = CalibrationFiles(spec, rig, cx_path.parent)
    result = SearchResult(spec)
    last_fail: dict[str, Any] = {}

    def run(cand: Candidate) -> tuple[str, ScenarioResult]:
        text = scenario_text(spec, cand, rig_ref=rig_ref, calibration=calibrations.ref(cand))
        scenario = loads_scenario(text, vocab, str(cx_path))
        return text, run_scenario(scenario, rig=rig_path, report_dir=None, formats=(),
                                  plots=False)

    @settings(max_examples=max_examples, deadline=None, database=DirectoryBasedExampleDatabase(
        str(db_dir)), suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        print_blob=False, report_multiple_bugs=False)
    @hypothesis_seed(spec.seed)
    @given(_strategy(spec))
    def probe(cand: Candidate) -> None:
        from hypothesis import reject

        if time.perf_counter() > deadline:
            result.stopped_by = "time"
            reject()
        if last_fail and result.shrink_runs >= max_shrinks:
            # Shrinking is bounded by a count, not by time, so that it ends in the same
            # place on a busy machine as on an idle one (given the seed).
            result.stopped_by = "max-shrinks"
            reject()
        if last_fail:
            result.shrink_runs += 1
        text, res = run(cand)
        if not last_fail:
            result.examples += 1
        worst = None
        for i, v in enumerate(res.verdicts):
            key = _margin_key(v)
            if key is None:
                continue
            target(-key, label=f"{i}: {v.expectation.label}")
            best = result.smallest.get(v.expectation.label)
            if best is None or key < best["relative"]:
                result.smallest[v.expectation.label] = {
                    "margin": v.margin, "unit": v.margin_unit, "text": v.margin_text,
                    "relative": key, "example": result.examples}
            worst = key if worst is None else min(worst, key)
        if worst is not None:
            target(-worst, label="smallest margin")
        failed = not res.passed
        elapsed = time.perf_counter() - t0
        if failed:
            result.failures += 1
            described = cand.describe(spec)
            if not result.shrink_steps or result.shrink_steps[-1] != described:
                result.shrink_steps.append(described)
            last_fail.update(candidate=cand, text=text, result=res)
            step = (f"shrink {result.shrink_runs}" if result.shrink_runs
                    else f"example {result.examples}")
            say(f"  [{step}] {elapsed:6.1f} s  FAIL  {described}")
        elif not last_fail and (result.examples % 10 == 0 or result.examples == 1):
            tight = min(result.smallest.values(), key=lambda s: s["relative"], default=None)
            say(f"  [example {result.examples}] {elapsed:6.1f} s  smallest margin so far "
                f"{tight['text'] if tight else '-'}; {result.failures} failing")
        if failed:
            raise PropertyFalsified(res.failure_text())

    try:
        probe()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the falsified property, or hypothesis' own
        if not last_fail and not isinstance(exc, PropertyFalsified):
            if type(exc).__name__ not in ("Unsatisfiable",):
                raise
    if last_fail:
        result.counterexample = last_fail["candidate"]
        result.search_result = last_fail["result"]
        result.found_seed = spec.seed
    return result


def _worker(job: tuple[Any, ...]) -> tuple[SearchResult, float]:
    """A parallel search's worker process: one :func:`_explore` (its ScenarioResult is
    dropped, the parent reruns the counterexample)."""
    (spec, index, max_examples, deadline_s, db_dir, max_shrinks, rig, rig_ref, cx_path,
     verbose) = job
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    prefix = f"  [worker {index + 1}]"

    def say(line: str) -> None:
        if verbose:
            import sys

            print(prefix + line[1:], file=sys.stderr, flush=True)

    result = _explore(spec, max_examples, t0 + deadline_s, db_dir, max_shrinks, rig, rig_ref,
                      cx_path, say, t0)
    result.search_result = None
    return result, time.process_time() - cpu0


def _explore_in_parallel(spec: SearchSpec, max_examples: int, time_s: float, db_dir: Path,
                         max_shrinks: int, rig: str | Path | None, rig_ref: str | None,
                         cx_path: Path, workers: int,
                         verbose: bool) -> tuple[SearchResult, float]:
    import dataclasses
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    share, extra = divmod(max_examples, workers)
    jobs = [(dataclasses.replace(spec, seed=worker_seed(spec.seed, i)), i,
             share + (1 if i < extra else 0), time_s, db_dir / f"worker-{i + 1}", max_shrinks,
             rig, rig_ref, cx_path, verbose) for i in range(workers)]
    # spawn, not fork: a fresh interpreter per worker, nothing inherited mid-state.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = list(pool.map(_worker, jobs))
    merged = SearchResult(spec)
    best: tuple[int, int] | None = None
    cpu = 0.0
    for i, (r, c) in enumerate(outcomes):
        cpu += c
        merged.examples += r.examples
        merged.failures += r.failures
        merged.shrink_runs += r.shrink_runs
        if r.stopped_by != "max-examples":
            merged.stopped_by = r.stopped_by
        for label, m in r.smallest.items():
            if label not in merged.smallest or m["relative"] < merged.smallest[label]["relative"]:
                merged.smallest[label] = dict(m, worker=i + 1)
        if r.counterexample is not None:
            key = (len(r.counterexample.faults), i)
            if best is None or key < best:
                best = key
                merged.counterexample = r.counterexample
                merged.found_seed = r.found_seed
                merged.shrink_steps = [f"worker {i + 1}: {step}" for step in r.shrink_steps]
    return merged, cpu


def _with_seed(spec: SearchSpec, seed: int) -> SearchSpec:
    import dataclasses

    return dataclasses.replace(spec, seed=seed)
