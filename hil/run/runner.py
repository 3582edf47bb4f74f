"""Run one scenario on the bench of its rig and judge it.

The runner opens the bench for the scenario's rig (:func:`hil.bench.open_bench`: SIL or
wall clock, the same interface), sets the plant up (parameter
set and overrides, mode, initial conditions), plays the steps in simulated time
(timed and conditional steps, ramps, part / sensor / bus faults, approvals),
then evaluates every expectation over the finished trace and writes the
artifacts: the trace (BLF, MF4), a plot of the signals each failed expectation
involves, and an overview plot. It knows nothing of pytest: the pytest plugin
and ``hil run`` are fronts over :func:`run_scenario`.

SIGINT / SIGTERM (:mod:`hil.run.interrupt`): the run stops at the next simulated second,
the trace recorded so far is exported, result.json says ``interrupted`` with the simulated
time reached, then :class:`~hil.run.interrupt.ScenarioInterrupted` carries the result to
the caller. A run over 2 minutes spools its trace to ``<scenario>/trace.partial.spool/``
and removes it once the exports are written (``native`` in the formats keeps it as
``trace/``, a native trace :meth:`hil.trace.Trace.load` opens).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from hil.bench import Bench, open_bench
from hil.bench.base import is_inconclusive, tightest_timing_bound_ns
from hil.config.rig import RigConfig, check_signal_map, load_rig, resolve_rig_path
from hil.config.yamlio import LocDict, load_yaml, paused_gc
from hil.errors import ConfigError, HilError, PlantStepError, ScenarioError
from hil.run import interrupt
from hil.scenario.expect import Verdict, evaluate_all, verdict_summary
from hil.scenario.model import Scenario, Vocabulary, load_scenario
from hil.scenario.player import ScenarioAbort, ScenarioPlayer, StepRecord, prepare_plant


@dataclass
class ScenarioResult:
    scenario: Scenario
    verdicts: list[Verdict]
    steps: list[StepRecord]
    error: str | None
    sim_ns: int
    wall_s: float
    artifacts: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    trace_sha256: str | None = None   # hil.trace.digest: equal means bit-identical runs
    interrupted: str | None = None    # the signal that cut the run short (SIGINT, SIGTERM)
    #: Why ``error`` may be the rig's doing, not the ECU's (a preflight the bench's pacing
    #: failed, a wait_until after a stall): the scenario is then INCONCLUSIVE, never FAIL.
    error_inconclusive: str | None = None
    #: Wall seconds of what is not the simulation (``wall_s``, the "x real" basis):
    #: setup_s (bench assembly, plant set-up, preflight), judge_s (expectations, trace
    #: digest), export_s (coverage record, trace files, result.json), plots_s (PNGs).
    times: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return (self.error is None and self.interrupted is None
                and all(v.passed for v in self.verdicts))

    @property
    def status(self) -> str:
        """pass | fail | inconclusive (a wall-clock rig could not resolve a timing bound
        and nothing else failed: never reported as a pass) | interrupted (stopped by a
        signal before its duration; no verdicts)."""
        if self.interrupted is not None:
            return "interrupted"
        if self.passed:
            return "pass"
        if (self.error is None or self.error_inconclusive is not None) and all(
                v.passed or is_inconclusive(v) for v in self.verdicts):
            return "inconclusive"
        return "fail"

    def failure_text(self) -> str:
        """What failed, as a calibration engineer reads it: one line per failure."""
        lines = []
        if self.error and self.error_inconclusive:
            lines.append(f"INCONCLUSIVE {self.error} ({self.error_inconclusive})")
        elif self.error:
            lines.append(self.error)
        for v in self.verdicts:
            if not v.passed:
                lines.append(str(v))
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary for reports (crosses xdist worker boundaries)."""
        return {
            "name": self.scenario.name,
            "file": self.scenario.file,
            "description": self.scenario.description,
            "tags": list(self.scenario.tags),
            "passed": self.passed,
            "status": self.status,
            "interrupted": self.interrupted,
            "duration_s": self.scenario.duration_ns / 1e9,
            "error": self.error,
            "error_inconclusive": self.error_inconclusive,
            "sim_s": self.sim_ns / 1e9,
            "wall_s": self.wall_s,
            "speed": (self.sim_ns / 1e9) / self.wall_s if self.wall_s > 0 else None,
            "times": {k: round(v, 4) for k, v in self.times.items()},
            "verdicts": [verdict_summary(v) for v in self.verdicts],
            "trace_sha256": self.trace_sha256,
            "steps": [{"index": s.index, "description": s.description,
                       "t_s": None if s.t_ns is None else s.t_ns / 1e9, "status": s.status}
                      for s in self.steps],
            "artifacts": dict(self.artifacts),
            "figures": self.figures,
        }


# -- loading ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _vocabulary(rig_path: str, plant: str) -> Vocabulary:
    """The names a scenario on this rig may use; checks the rig, its DBC, signal map,
    plant and ECU configuration (controller classes included) on the way."""
    from hil.bench.assembly import build_plant
    from hil.nodes.ecu_config import calibration_sets, load_ecu_config
    from hil.wire.dbc import load_dbc

    rig = load_rig(rig_path)
    db = load_dbc(rig.dbc)
    probe = build_plant(plant, rig=rig)
    # Every signal the rig names (signal map, operator, preflight sanity), before any run.
    check_signal_map(rig, db, tuple(probe.output_names), tuple(probe.input_names))
    tasks = calibrations = None
    if rig.ecu_config is not None:
        config = load_ecu_config(rig.ecu_config, db)
        tasks = [t.name for t in config.tasks]
        calibrations = frozenset(calibration_sets(config))
    quantities = frozenset(probe.output_names)
    params = _param_names(probe)
    part = getattr(probe, "road_load_part", None)   # an FMU part (docs/plants/fmu.md)
    if params is None and part is not None and hasattr(part, "param_names"):
        fmu_params = frozenset(part.param_names)
        # the composite's own parameters are checked when it is built; fmu.* here
        params = lambda name: not name.startswith("fmu.") or name in fmu_params  # noqa: E731
    return Vocabulary.from_dbc(
        db, quantities=quantities, inputs=frozenset(probe.input_names),
        params=params, tasks=tasks,
        fault_modes=probe.fault_modes(),
        operator={"approve": tuple(rig.operator.approve), "reject": tuple(rig.operator.reject)},
        calibrations=calibrations)


@lru_cache(maxsize=16)
def _check_calibration(rig_path: str, ref: str | None) -> None:
    """Load the calibration a run would use (the scenario's, else the rig's) once."""
    from hil.nodes.ecu_config import load_calibration, load_ecu_config
    from hil.wire.dbc import load_dbc

    rig = load_rig(rig_path)
    if rig.ecu_config is None:
        return
    config = load_ecu_config(rig.ecu_config, load_dbc(rig.dbc))
    load_calibration(config, ref if ref is not None else rig.calibration)


def _param_names(plant: Any) -> Any:
    names = getattr(plant, "param_names", None)
    if callable(names):
        return frozenset(names())
    if names is not None:
        return frozenset(names)
    return None


def vocabulary_for(rig_path: Path, plant: str | None = None) -> Vocabulary:
    rig = load_rig(rig_path)
    return _vocabulary(str(rig_path), plant or rig.plant)


def load(path: str | Path, *, rig: str | Path | None = None) -> Scenario:
    """Load and check a scenario against its rig's DBC, plant and ECU names."""
    # No cyclic gc while the document and the scenario are built (yamlio.paused_gc), and
    # the parsed document is freed before it is back on: the first collection after the
    # load walks the scenario only, not every mapping of the file as well.
    with paused_gc():
        return _load(Path(path), rig)


def _load(path: Path, rig: str | Path | None) -> Scenario:
    # The rig and the plant set must be known before the scenario can be checked against
    # their names: read them from the file first (the full load that follows reports any
    # error in the file with its position).
    try:
        raw = load_yaml(path)
    except HilError as exc:
        raise ScenarioError(exc.message, file=exc.file, line=exc.line,
                            column=exc.column) from None
    rig_ref = rig
    plant = None
    if isinstance(raw, dict):
        if rig_ref is None and isinstance(raw.get("rig"), str):
            rig_ref = raw["rig"]
        if isinstance(raw.get("plant"), str):
            plant = raw["plant"]
    rig_path = resolve_rig_path(rig_ref, str(path))
    try:
        vocab = vocabulary_for(rig_path, plant)
    except ConfigError as exc:
        if exc.file is None:
            raise _at_key(exc, raw, "plant" if plant else "rig", path) from None
        raise
    scenario = load_scenario(path, vocab, doc=raw)
    try:
        _check_calibration(str(rig_path), scenario.calibration)
    except ConfigError as exc:
        if exc.file is None:
            raise _at_key(exc, raw, "calibration", path) from None
        raise
    if scenario.params:
        _check_param_values(rig_path, scenario, raw, path)
    return scenario


def _check_param_values(rig_path: Path, scenario: Scenario, raw: Any, path: Path) -> None:
    """The scenario's ``params:`` values against the composite plant's own checks (a
    negative mass, a switch the plant does not have), before anything runs: their names
    were checked by the loader. Another plant class or an FMU checks them when built."""
    from plants.errors import PlantError
    from plants.params import load_params

    rig = load_rig(rig_path)
    if rig.plant_class is not None or rig.fmu is not None:
        return
    try:
        load_params(scenario.plant or rig.plant, dict(scenario.params))
    except PlantError as exc:
        message = str(exc)
        params = raw.get("params") if isinstance(raw, LocDict) else None
        if isinstance(params, LocDict):
            named = [k for k in params if f"'{k}'" in message or message.startswith(f"{k}:")
                     or message.startswith(f"{k} ")]
            if named:
                loc = params.value_loc(named[0])
                if loc is not None:
                    raise ScenarioError(message, file=str(path), line=loc[1],
                                        column=loc[2]) from None
        raise _at_key(HilError(message), raw, "params", path) from None


def _at_key(exc: HilError, raw: Any, key: str, path: Path) -> ScenarioError:
    """An error without a place, from something the scenario named: at that key."""
    loc = raw.value_loc(key) if isinstance(raw, LocDict) and key in raw else None
    line, column = (loc[1], loc[2]) if loc else (1, 1)
    return ScenarioError(exc.message, file=str(path), line=line, column=column)


def run_scenario(scenario: Scenario, *, rig: str | Path | RigConfig | None = None,
                 report_dir: str | Path | None = None, formats: tuple[str, ...] = ("blf", "mf4"),
                 controller_options: Mapping[str, Any] | None = None, plots: bool = True,
                 progress: Callable[[float], None] | None = None,
                 after_run: Callable[[Any], None] | None = None) -> ScenarioResult:
    """Run ``scenario`` on the bench of its rig and evaluate its expectations.

    The bench is whatever :func:`hil.bench.open_bench` gives for the rig (SIL or wall
    clock); its preflight decides whether the run starts, and its :meth:`qualify` says
    which verdicts it can vouch for. ``after_run(bench)`` is called once the run is over,
    with the trace still queryable (``hil sweep`` measures its figures there). Everything
    recorded is written to ``report_dir/<scenario>/`` even when the run fails or is
    interrupted; an earlier run's files there are removed first. After a SIGINT or SIGTERM
    (:mod:`hil.run.interrupt`) the files are written, then
    :class:`~hil.run.interrupt.ScenarioInterrupted` is raised with the result.
    """
    with interrupt.graceful():
        result = _run(scenario, rig=rig, report_dir=report_dir, formats=formats,
                      controller_options=controller_options, plots=plots, progress=progress,
                      after_run=after_run)
    signum = interrupt.take_pending()
    if signum is not None:
        # Stopped early, or a signal came while the artifacts were written: they are
        # complete either way; the caller ends the session.
        raise interrupt.ScenarioInterrupted(signum, result)
    return result


#: The most simulated time between two looks for a pending signal.
_STOP_CHECK_NS = 1_000_000_000


def _run(scenario: Scenario, *, rig: str | Path | RigConfig | None,
         report_dir: str | Path | None, formats: tuple[str, ...],
         controller_options: Mapping[str, Any] | None, plots: bool,
         progress: Callable[[float], None] | None,
         after_run: Callable[[Any], None] | None) -> ScenarioResult:
    setup0 = time.perf_counter()
    if isinstance(rig, RigConfig):
        rig_cfg = rig
    else:
        rig_cfg = load_rig(resolve_rig_path(rig if rig is not None else scenario.rig,
                                            scenario.file))
    out_dir = Path(report_dir) / _safe(scenario.name) if report_dir is not None else None
    if out_dir is not None:
        remove_stale(out_dir)
    spool = (out_dir / SPOOL_DIR if (out_dir is not None and scenario.duration_ns > 120e9)
             else None)
    bench = open_bench(rig_cfg, plant_params=scenario.plant, overrides=dict(scenario.params),
                       calibration=scenario.calibration, seed=scenario.seed, spool_dir=spool,
                       controller_options=controller_options)
    prepare_plant(bench.plant, scenario)
    player = ScenarioPlayer(bench, scenario)
    wall0 = time.perf_counter()
    error: str | None = None
    undecided: str | None = None   # why the error may be the rig's (ScenarioResult)
    stopped_by: int | None = None
    started = False
    try:
        # 0 when it has no timing bound: the self-test then has nothing to resolve.
        fitness = bench.preflight(tightest_timing_bound_ns(scenario.expect) or 0)
        if not fitness.passed:
            undecided = fitness.unfit_reason
            raise ScenarioAbort("preflight failed:\n" + fitness.table())
        started = True
        bench.start()
        wall0 = time.perf_counter()   # "x real" is the simulation's: set-up and preflight not
        proc = bench.env.process(player.process())
        chunk = min(max(scenario.duration_ns // 20, 10_000_000), _STOP_CHECK_NS)
        t = 0
        plant_error = None
        while t < scenario.duration_ns:
            stopped_by = interrupt.pending()
            if stopped_by is not None:
                break
            t = min(t + chunk, scenario.duration_ns)
            try:
                bench.run_until(t)
            except ScenarioAbort:
                break
            except PlantStepError as exc:   # the plant refused a step (an FMU's error)
                plant_error = str(exc)
                break
            if not proc.is_alive and not proc.ok:
                break
            if progress is not None:
                progress(t / scenario.duration_ns)
        error = plant_error or player.error
    except ScenarioAbort as exc:
        error = str(exc)
    finally:
        judge0 = time.perf_counter()
        wall = judge0 - wall0
        bench.close()
    assert bench.trace is not None
    if stopped_by is not None:
        # A verdict over a run cut short is no verdict: none is given, the trace is kept.
        name = interrupt.signal_name(stopped_by)
        result = ScenarioResult(scenario, [], player.records, (
            f"interrupted by {name} at t={bench.now_ns / 1e9:.3f} s of "
            f"{scenario.duration_ns / 1e9:g} s (simulated); the trace holds what was "
            "recorded until then"), bench.now_ns, wall, interrupted=name)
    else:
        # A run that never started (its preflight failed) has no verdicts, only its error.
        verdicts = bench.qualify(evaluate_all(scenario.expect, bench.trace,
                                              task_times=bench.ecu.task_times())) \
            if started else []
        if error is not None and error == player.error and player.error_t_ns is not None:
            undecided = bench.qualify_error(player.error_t_ns)
        result = ScenarioResult(scenario, verdicts, player.records, error, bench.now_ns, wall,
                                error_inconclusive=undecided)
    from hil.trace.digest import trace_digest

    result.trace_sha256 = trace_digest(bench.trace)[0]
    if after_run is not None and stopped_by is None:
        after_run(bench)
    result.figures = bench.figures()
    result.times = {"setup_s": wall0 - setup0, "judge_s": time.perf_counter() - judge0}
    export0 = time.perf_counter()
    try:
        if out_dir is not None:
            if stopped_by is None:
                from hil.calibration.coverage import write_run_record

                coverage = write_run_record(bench, scenario, out_dir)
                if coverage is not None:
                    result.artifacts["coverage"] = coverage
            _write_artifacts(result, bench, out_dir, formats, plots, export0)   # result.json last
            if "native" in formats:
                result.artifacts["trace_native"] = str(_keep_native(bench, out_dir))
                _write_result(result, out_dir)
    finally:
        if spool is not None:
            # The spool is the recorder's working copy: gone once the exports are written
            # (or the writing failed), unless `native` kept it as trace/.
            shutil.rmtree(spool, ignore_errors=True)
    return result


#: Where a long run spools its trace inside its scenario directory (hil.trace.files.PARTIAL:
#: a directory a reader must not take for output, removed at the end of the run).
SPOOL_DIR = "trace.partial.spool"
#: The native trace a run keeps when its formats include ``native``.
NATIVE_DIR = "trace"
#: Files and directories a scenario run writes into its directory; an earlier run's are
#: removed before the run starts (plus anything with ``.partial`` in its name).
_OUTPUTS = ("trace.*", "trace_*.csv", "result.json", "coverage.json", "overview.png",
            "failed_*.png")


def remove_stale(out_dir: Path) -> bool:
    """Remove what an earlier run of this scenario left in ``out_dir`` (its outputs, its
    native trace, any partial file or spool of a killed run), so nothing stale passes for
    this run's; True if anything was removed."""
    if not out_dir.is_dir():
        return False
    stale = {p for pattern in _OUTPUTS for p in out_dir.glob(pattern)}
    stale |= {p for p in out_dir.iterdir() if ".partial" in p.name}
    if (out_dir / NATIVE_DIR / "trace.json").is_file():
        stale.add(out_dir / NATIVE_DIR)
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return bool(stale)


def _keep_native(bench: Bench, out_dir: Path) -> Path:
    """The native trace as ``out_dir/trace/``: the spool moved, or the trace saved."""
    assert bench.trace is not None
    target = out_dir / NATIVE_DIR
    spool = out_dir / SPOOL_DIR
    if (spool / "trace.json").exists():
        spool.rename(target)
    else:
        bench.trace.save(target, ())
    return target / "trace.json"


def _write_result(result: ScenarioResult, out_dir: Path) -> None:
    from hil.trace.files import atomic_write

    result.artifacts["result"] = str(out_dir / "result.json")
    atomic_write(out_dir / "result.json", json.dumps(result.summary(), indent=2, default=str))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_artifacts(result: ScenarioResult, bench: Bench, out_dir: Path,
                     formats: tuple[str, ...], plots: bool, export0: float | None = None) -> None:
    from hil.report.plot import plot_signals
    from hil.trace.export import export

    export0 = time.perf_counter() if export0 is None else export0
    out_dir.mkdir(parents=True, exist_ok=True)
    trace = bench.trace
    assert trace is not None  # run() checked it before qualifying the verdicts
    for fmt in formats:
        if fmt == "native":
            continue
        path = out_dir / f"trace.{fmt}"
        export(trace, fmt, path)
        result.artifacts[f"trace_{fmt}"] = str(path)
    scenario = result.scenario
    plots0 = time.perf_counter()
    if plots:
        names = sorted(scenario.names) or list(bench.rig.overview)  # the rig's, if none
        result.artifacts["plot_overview"] = str(plot_signals(
            trace, names[:8], out_dir / "overview.png", title=scenario.name))
        for i, verdict in enumerate(result.verdicts):
            if verdict.passed:
                continue
            involved = list(verdict.signals_involved) or names[:6]
            window = None
            if verdict.t_ns is not None:
                span = max(scenario.duration_ns // 20, 50_000_000)
                window = (max(verdict.t_ns - span, 0), verdict.t_ns + span)
            path = plot_signals(trace, involved[:8], out_dir / f"failed_{i}_{verdict.expectation.kind}.png",
                                title=f"{scenario.name}: {verdict.expectation.kind} failed",
                                mark_ns=verdict.t_ns, mark_label="violation",
                                window_ns=window)
            result.artifacts[f"plot_failed_{i}"] = str(path)
    done = time.perf_counter()
    # result.json itself is the last write: the export time is everything else
    result.times.update(export_s=plots0 - export0, plots_s=done - plots0 if plots else 0.0)
    _write_result(result, out_dir)
