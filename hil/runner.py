"""Run one scenario on the SIL bench and judge it.

The runner builds the bench for the scenario's rig, sets the plant up (parameter
set and overrides, mode, initial conditions), plays the steps in simulated time
(timed and conditional steps, ramps, part / sensor / bus faults, approvals),
then evaluates every expectation over the finished trace and writes the
artifacts: the trace (BLF, MF4), a plot of the signals each failed expectation
involves, and an overview plot. It knows nothing of pytest: the pytest plugin
and ``hil run`` are fronts over :func:`run_scenario`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from hil.errors import ConfigError, HilError, ScenarioError
from hil.rig import REPO_ROOT, RigConfig, load_rig
from hil.scenario.expect import Verdict, evaluate_all
from hil.scenario.model import Fault, Scenario, Step, Vocabulary, load_scenario
from hil.units import format_time_ns
from hil.yamlio import load_yaml

#: The plant's sensor fault parameters, by the scenario language's names.
_SENSOR_PARAM_NAMES = {"value": "value", "offset": "value", "rate": "rate_per_s",
                       "sigma": "std", "period_ns": "period_s", "duty": "duty"}
#: Which bit a corruption flips, by the scenario language's field name.
_CORRUPT_FIELD = {"crc": {"byte": 0, "bit": 0}, "counter": {"byte": 1, "bit": 0}}


class ScenarioAbort(HilError):
    """A step could not complete (a wait_until timed out); the run stops there."""


@dataclass
class StepRecord:
    index: int
    description: str
    t_ns: int | None
    status: str                       # done | timeout | not reached
    where: tuple[str, int, int] | None = None


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

    @property
    def passed(self) -> bool:
        return self.error is None and all(v.passed for v in self.verdicts)

    @property
    def status(self) -> str:
        """pass | fail | inconclusive (a wall-clock rig could not resolve a timing bound
        and nothing else failed: never reported as a pass)."""
        if self.passed:
            return "pass"
        if self.error is None and all(v.passed or getattr(v, "inconclusive", False)
                                      for v in self.verdicts):
            return "inconclusive"
        return "fail"

    def failure_text(self) -> str:
        """What failed, as a calibration engineer reads it: one line per failure."""
        lines = []
        if self.error:
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
            "error": self.error,
            "sim_s": self.sim_ns / 1e9,
            "wall_s": self.wall_s,
            "speed": (self.sim_ns / 1e9) / self.wall_s if self.wall_s > 0 else None,
            "verdicts": [{"kind": v.expectation.kind, "passed": v.passed,
                          "status": ("inconclusive" if getattr(v, "inconclusive", False)
                                     else "pass" if v.passed else "fail"),
                          "message": v.message + (
                              f" (measured {'PASS' if v.measured_passed else 'FAIL'}; "
                              f"{v.reason})" if getattr(v, "inconclusive", False) else ""),
                          "t_s": None if v.t_ns is None else v.t_ns / 1e9,
                          "where": list(v.where) if v.where else None}
                         for v in self.verdicts],
            "steps": [{"index": s.index, "description": s.description,
                       "t_s": None if s.t_ns is None else s.t_ns / 1e9, "status": s.status}
                      for s in self.steps],
            "artifacts": dict(self.artifacts),
            "figures": self.figures,
        }


# -- loading ------------------------------------------------------------------------------

def resolve_rig_path(ref: str | Path | None, scenario_file: str | None = None) -> Path:
    """A scenario's ``rig:`` is relative to the repository (or the scenario's directory)."""
    if ref is None:
        return REPO_ROOT / "rigs" / "sil.yaml"
    path = Path(ref)
    if path.is_absolute() and path.exists():
        return path
    for base in ([Path(scenario_file).resolve().parent] if scenario_file else []) + [
            Path.cwd(), REPO_ROOT]:
        if (base / path).exists():
            return (base / path).resolve()
    return (REPO_ROOT / path)


@lru_cache(maxsize=8)
def _vocabulary(rig_path: str, plant: str) -> Vocabulary:
    from hil.bench import build_plant
    from hil.dbc import load_dbc
    from hil.ecu import load_ecu_config

    rig = load_rig(rig_path)
    db = load_dbc(rig.dbc)
    probe = build_plant(plant)
    tasks = None
    if rig.ecu_config is not None:
        tasks = [t.name for t in load_ecu_config(rig.ecu_config, db).tasks]
    quantities = frozenset(probe.output_names)
    return Vocabulary.from_dbc(
        db, quantities=quantities, inputs=frozenset(probe.input_names),
        params=_param_names(probe), tasks=tasks,
        fault_modes={t: tuple(m) for t, m in probe.fault_modes().items()})


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
    path = Path(path)
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
            raise ScenarioError(str(exc), file=str(path), line=1, column=1) from None
        raise
    return load_scenario(path, vocab)


# -- running --------------------------------------------------------------------------------

class _OnlineValues(Mapping[str, float]):
    """Latest values for conditions checked during the run: bus signals and plant outputs."""

    def __init__(self, bus_values: dict[str, float], plant_outputs: Mapping[str, float]) -> None:
        self._bus = bus_values
        self._plant = plant_outputs

    def __getitem__(self, name: str) -> float:
        if name in self._bus:
            return self._bus[name]
        if name in self._plant:
            return self._plant[name]
        return math.nan

    def __iter__(self) -> Iterator[str]:
        yield from self._bus
        yield from self._plant

    def __len__(self) -> int:
        return len(self._bus) + len(self._plant)


class _Monitor:
    """Decodes every frame on the bus into the latest values (only for wait_until steps)."""

    def __init__(self, bench: Any) -> None:
        self.values: dict[str, float] = {}
        self._codec = bench.codec
        self._names: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
        for message in bench.db.messages:
            # (decoder, [(signal, "Message.signal")]): plain and qualified names.
            self._names[message.frame_id] = (
                self._codec.message(message.frame_id).decode_into,
                [(s.name, f"{message.name}.{s.name}") for s in message.signals])
        # Raw frames where the network offers them (the simulated bus: no can.Message
        # per frame), Messages otherwise.
        add_frame_observer = getattr(bench.network, "add_frame_observer", None)
        if add_frame_observer is not None:
            from hil.bus.sim import FLAG_ERROR

            self._error_flag = FLAG_ERROR
            add_frame_observer(self._observe_frame)
        else:
            bench.network.add_observer(self._observe)

    def _observe(self, t_end_ns: int, t_start_ns: int, msg: Any, sender: str) -> None:
        if getattr(msg, "is_error_frame", False):
            return
        self._update(msg.arbitration_id, bytes(msg.data))

    def _observe_frame(self, t_end_ns: int, t_start_ns: int, arbitration_id: int, data: bytes,
                       sender: str, flags: int) -> None:
        if not flags & self._error_flag:
            self._update(arbitration_id, data)

    def _update(self, arbitration_id: int, data: bytes) -> None:
        entry = self._names.get(arbitration_id)
        if entry is None:
            return
        decode_into, qualified = entry
        values = self.values
        decode_into(data, values)
        for sig, name in qualified:
            values[name] = values[sig]


class _ScenarioDriver:
    """Plays the steps of a scenario on a bench, in simulated time."""

    def __init__(self, bench: Any, scenario: Scenario) -> None:
        self.bench = bench
        self.scenario = scenario
        self.records = [StepRecord(s.index, s.describe(), None, "not reached", s.where)
                        for s in scenario.steps]
        self.error: str | None = None
        self._bus_faults: list[tuple[Fault, Any]] = []
        self._frame_ids = {m.name: m.frame_id for m in bench.db.messages}
        self._online: _OnlineValues | None = None
        if any(s.wait_until is not None for s in scenario.steps):
            monitor = _Monitor(bench)
            self._online = _OnlineValues(monitor.values, bench.plant.outputs)

    def process(self):
        env = self.bench.env
        for step, record in zip(self.scenario.steps, self.records, strict=True):
            if step.at_ns is not None:
                if step.at_ns > env.now:
                    yield env.timeout(step.at_ns - env.now)
            else:
                deadline = env.now + (step.timeout_ns or 0)
                while not self._holds(step):
                    if env.now >= deadline:
                        record.t_ns = env.now
                        record.status = "timeout"
                        where = ":".join(map(str, step.where)) + ": " if step.where else ""
                        self.error = (f"{where}wait_until {step.wait_until} did not hold within "
                                      f"{format_time_ns(step.timeout_ns or 0)} "
                                      f"(gave up at t={env.now / 1e9:.4f} s)")
                        self.bench.event("timeout", self.error)
                        raise ScenarioAbort(self.error)
                    yield env.timeout(1_000_000)
            self.apply(step)
            record.t_ns = env.now
            record.status = "done"
            self.bench.event("step", step.describe())

    def _holds(self, step: Step) -> bool:
        assert self._online is not None and step.wait_until is not None
        try:
            return bool(step.wait_until.truth(self._online))
        except (TypeError, ValueError):
            return False

    # -- actions -------------------------------------------------------------------------

    def apply(self, step: Step) -> None:
        if step.clear is not None:
            self._clear(step.clear.kind, step.clear.target)
        if step.fault is not None:
            self._inject(step.fault)
        for name, value in step.set.items():
            self._set(name, value)
        for name, ramp in step.ramp.items():
            self.bench.env.process(self._ramp(name, ramp.to, ramp.over_ns))
        if step.approve:
            self.bench.bench.set("AiTunerApprove", 1, momentary=True)
        if step.reject:
            self.bench.bench.set("AiTunerReject", 1, momentary=True)

    def _set(self, name: str, value: float) -> None:
        plant = self.bench.plant
        if name in plant.inputs:
            plant.inputs[name] = float(value)
        elif name in self.bench.bench.commands:
            self.bench.bench.set(name, value)
        else:
            short = name.split(".", 1)[-1]
            if short in self.bench.bench.commands:
                self.bench.bench.set(short, value)
            else:
                raise ConfigError(f"cannot set {name!r}: neither a plant input nor a bench signal")

    def _ramp(self, name: str, to: float, over_ns: int):
        env = self.bench.env
        inputs = self.bench.plant.inputs
        start_value = float(inputs[name])
        t0 = env.now
        step = 1_000_000
        while env.now - t0 < over_ns:
            yield env.timeout(step)
            frac = min((env.now - t0) / over_ns, 1.0)
            inputs[name] = start_value + (to - start_value) * frac

    def _inject(self, fault: Fault) -> None:
        bench = self.bench
        params = dict(fault.params)
        duration = params.pop("duration_ns", None)
        if fault.kind == "part":
            bench.plant.inject_fault(fault.target, fault.mode, **params)
        elif fault.kind == "sensor":
            mapped = {}
            for key, value in params.items():
                name = _SENSOR_PARAM_NAMES.get(key, key)
                mapped[name] = value / 1e9 if key.endswith("_ns") else value
            bench.plant.inject_fault(fault.target, fault.mode, **mapped)
        else:
            handle = bench.network.inject_fault(fault.mode, **self._bus_params(fault, params))
            self._bus_faults.append((fault, handle))
        bench.event("fault", f"{fault.kind} fault {fault.target or ''} {fault.mode}".strip())
        if duration:
            ev = bench.env.timeout(duration)
            ev.callbacks.append(lambda _e, f=fault: self._clear(f.kind, f.target))

    def _bus_params(self, fault: Fault, params: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if fault.mode == "bus_off":
            out["node"] = fault.target
            return out
        if fault.target is not None:
            out["message_id"] = self._frame_ids[fault.target]
        if "count" in params:
            out["count"] = int(params["count"])
        if fault.mode == "delay":
            out["delay_ns"] = int(params["by_ns"])
        if fault.mode == "corrupt":
            where = params.get("field", "crc")
            if where == "data":
                length = next(m.length for m in self.bench.db.messages
                              if m.name == fault.target)
                out.update(byte=length - 1, bit=0)
            else:
                out.update(_CORRUPT_FIELD[where])
        return out

    def _clear(self, kind: str, target: str | None) -> None:
        bench = self.bench
        if kind in ("part", "sensor"):
            bench.plant.clear_fault(target)
        if kind in ("bus", "all"):
            keep = []
            for fault, handle in self._bus_faults:
                if kind == "all" or target is None or fault.target == target:
                    bench.network.clear_fault(handle)
                else:
                    keep.append((fault, handle))
            self._bus_faults = keep
        if kind == "all":
            for target_name in list(getattr(bench.plant, "active_faults", dict)()):
                bench.plant.clear_fault(target_name)
        bench.event("clear", f"clear {kind} {target or ''}".strip())


def prepare_plant(plant: Any, scenario: Scenario) -> None:
    """Mode and initial conditions of the scenario, before the first step."""
    if scenario.mode:
        try:
            plant.set_driver_mode(scenario.mode, **dict(scenario.mode_config))
        except ValueError as exc:
            raise ScenarioError(f"mode {scenario.mode}: {exc}", file=scenario.file,
                                line=scenario.where[1] if scenario.where else None) from None
    state = {}
    for name, value in scenario.initial.items():
        if name in plant.inputs:
            plant.inputs[name] = float(value)
        else:
            state[name] = float(value)
    if state:
        try:
            plant.set_state(**state)
        except ValueError as exc:
            raise ScenarioError(f"initial: {exc}", file=scenario.file,
                                line=scenario.where[1] if scenario.where else None) from None


def run_scenario(scenario: Scenario, *, rig: str | Path | RigConfig | None = None,
                 report_dir: str | Path | None = None, formats: tuple[str, ...] = ("blf", "mf4"),
                 controller_options: Mapping[str, Any] | None = None, plots: bool = True,
                 progress: Callable[[float], None] | None = None) -> ScenarioResult:
    """Run ``scenario`` in simulated time and evaluate its expectations.

    Everything recorded is written to ``report_dir/<scenario>/`` even when the
    run fails or is interrupted.
    """
    from hil.bench import SilBench

    if isinstance(rig, RigConfig):
        rig_cfg = rig
    else:
        rig_cfg = load_rig(resolve_rig_path(rig if rig is not None else scenario.rig,
                                            scenario.file))
    out_dir = Path(report_dir) / _safe(scenario.name) if report_dir is not None else None
    spool = out_dir / "trace" if (out_dir is not None and scenario.duration_ns > 120e9) else None
    bench_cls: Any = SilBench
    preflight = None
    if rig_cfg.clock == "wall":
        # Wall-clock rig: preflight first (a failed one is the run's error), then the plant
        # node and the scenario against the ECU on the wire (hil.wall).
        from hil.preflight import run_preflight
        from hil.wall import WallBench

        bench_cls = WallBench
        preflight = run_preflight(rig_cfg)
    bench = bench_cls(rig_cfg, plant_params=scenario.plant, overrides=dict(scenario.params),
                      calibration=scenario.calibration, seed=scenario.seed, spool_dir=spool,
                      controller_options=controller_options)
    prepare_plant(bench.plant, scenario)
    driver = _ScenarioDriver(bench, scenario)
    wall0 = time.perf_counter()
    error: str | None = None
    try:
        if preflight is not None and not preflight.passed:
            raise ScenarioAbort("preflight failed:\n" + preflight.table())
        bench.start()
        proc = bench.env.process(driver.process())
        chunk = max(scenario.duration_ns // 20, 10_000_000)
        t = 0
        while t < scenario.duration_ns:
            t = min(t + chunk, scenario.duration_ns)
            try:
                bench.run_until(t)
            except ScenarioAbort:
                break
            if not proc.is_alive and not proc.ok:
                break
            if progress is not None:
                progress(t / scenario.duration_ns)
        error = driver.error
    except ScenarioAbort as exc:
        error = str(exc)
    finally:
        wall = time.perf_counter() - wall0
        bench.close()
    verdicts = evaluate_all(scenario.expect, bench.trace, task_times=bench.ecu.task_times())
    wall_figures = bench.figures() if preflight is not None else {}
    if preflight is not None:
        from hil.preflight import qualify_verdicts

        verdicts = qualify_verdicts(verdicts, _worst_pacing(wall_figures["pacing"],
                                                            preflight.pacing),
                                    timestamps=wall_figures["timestamps"]["received"],
                                    external_ecu=rig_cfg.ecu == "external")
    result = ScenarioResult(scenario, verdicts, driver.records, error, bench.env.now, wall)
    result.figures = {
        "bus": _jsonable(bench.network.report()),
        "tasks": {name: _task_figures(times) for name, times in bench.ecu.task_times().items()},
        "ecu": bench.ecu.counters(),
        **wall_figures,
    }
    if preflight is not None:
        result.figures["preflight"] = [vars(c) for c in preflight.checks]
    if out_dir is not None:
        _write_artifacts(result, bench, out_dir, formats, plots)
    return result


def _worst_pacing(run: dict[str, Any], selftest: dict[str, Any]) -> dict[str, Any]:
    """The worse of the run's own pacing and the preflight self-test's."""
    worst = dict(run)
    for key in ("p50_us", "p99_us", "max_us", "overruns"):
        worst[key] = max(run.get(key, 0), selftest.get(key, 0))
    return worst


def _task_figures(times: Any) -> dict[str, float]:
    import numpy as np

    if times.size == 0:
        return {"runs": 0}
    p50, p99 = np.percentile(times, [50, 99])
    return {"runs": int(times.size), "p50_us": float(p50) / 1e3, "p99_us": float(p99) / 1e3,
            "max_us": float(times.max()) / 1e3}


def _jsonable(report: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("bitrate", "elapsed_ns", "window_ns", "load_mean", "load_max", "load_overall",
            "frames", "bits", "error_frames")
    return {k: report.get(k) for k in keep}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_artifacts(result: ScenarioResult, bench: Any, out_dir: Path,
                     formats: tuple[str, ...], plots: bool) -> None:
    from hil.report.plot import plot_signals

    out_dir.mkdir(parents=True, exist_ok=True)
    trace = bench.trace
    for fmt in formats:
        path = out_dir / f"trace.{fmt}"
        getattr(trace, f"to_{fmt}")(path)
        result.artifacts[f"trace_{fmt}"] = str(path)
    scenario = result.scenario
    if plots:
        names = sorted(scenario.names) or ["EngineSpeed", "BoostPressure", "Lambda"]
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
    (out_dir / "result.json").write_text(json.dumps(result.summary(), indent=2, default=str))
    result.artifacts["result"] = str(out_dir / "result.json")
