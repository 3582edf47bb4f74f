"""``ecu.yaml``: which controller runs in which task, at which rate, sending what.

Validated against the DBC at load time; every error is one ``file:line:col`` line.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from hil.config.registry import resolve
from hil.config.units import UnitError, parse_time_ns
from hil.config.yamlio import (
    Loc,
    LocDict,
    LocList,
    check_keys,
    closest,
    error_at,
    excerpt,
    load_yaml,
)
from hil.errors import ConfigError
from hil.nodes import ECU

#: Entry-point group of the calibration loaders ecu.yaml's ``calibration_loader:`` may name.
#: Configuration names code only through registries: a loader registered here, or a
#: controller class that implements the controller contract (docs/interfaces.md).
CALIBRATION_LOADERS = "ntec_hil.calibration_loaders"
DEFAULT_CALIBRATION_LOADER = "ntec"
TASK_KEYS = ("name", "trigger", "period", "offset", "exec_time", "sends", "controllers")
CONTROLLER_KEYS = ("name", "class", "options")


@dataclass
class ControllerSpec:
    name: str
    cls: str
    options: dict[str, Any]
    loc: Loc | None


@dataclass
class TaskSpec:
    name: str
    period_ns: int
    offset_ns: int = 0
    exec_time_ns: int = 0
    trigger: str | None = None
    sends: tuple[str, ...] = ()
    controllers: list[ControllerSpec] = field(default_factory=list)
    loc: Loc | None = None


@dataclass
class EcuConfig:
    path: Path
    calibration: Path | None
    calibration_loader: str
    timeout_cycles: float
    tasks: list[TaskSpec]
    node: str = ECU
    #: ``signal_names:``: controller signal name -> DBC signal name, for a DBC whose names
    #: differ from the controllers' (empty: the controllers' names are the DBC's).
    signal_names: dict[str, str] = field(default_factory=dict)


def _time(raw: LocDict, key: str, default: str | None, what: str) -> int:
    value = raw.get(key, default)
    if value is None:
        raise error_at(raw.loc, f"{what} needs {excerpt(key)}")
    try:
        return parse_time_ns(value)
    except UnitError as exc:
        raise error_at(raw.value_loc(key), f"{what}.{key}: {exc}") from None


def load_ecu_config(path: str | Path, db: Any) -> EcuConfig:
    """Read ``controllers/ecu.yaml``: which controller runs in which task."""
    path = Path(path)
    raw = load_yaml(path)
    if not isinstance(raw, LocDict):
        raise ConfigError("an ECU configuration must be a mapping", file=str(path), line=1)
    check_keys(raw, ("calibration", "calibration_loader", "timeout_cycles", "tasks", "node",
                     "signal_names"), what="ECU configuration", required=("tasks",))
    base = path.resolve().parent
    calibration = None
    if raw.get("calibration") is not None:
        calibration = (base / str(raw["calibration"])).resolve()
        if not calibration.exists():
            raise error_at(raw.value_loc("calibration"),
                           f"calibration {raw['calibration']!r} does not exist")
    messages = {m.name for m in db.messages}
    tasks_raw = raw["tasks"]
    if not isinstance(tasks_raw, LocList) or not tasks_raw:
        raise error_at(raw.value_loc("tasks"), "tasks: expected a list of tasks")
    tasks: list[TaskSpec] = []
    for i, t in enumerate(tasks_raw):
        if not isinstance(t, LocDict):
            raise error_at(tasks_raw.item_loc(i), "a task must be a mapping")
        check_keys(t, TASK_KEYS, what="task", required=("name", "period", "controllers"))
        name = t["name"]
        if not isinstance(name, str) or not name:
            raise error_at(t.value_loc("name"), f"task name: expected a string, got "
                           f"{excerpt(name)}")
        what = f"task {name}"
        trigger = t.get("trigger")
        if trigger is not None and trigger not in messages:
            raise error_at(t.value_loc("trigger"), f"{what}: unknown trigger message "
                           f"{excerpt(trigger)}{closest(str(trigger), messages)}")
        sends = t.get("sends") or []
        if not isinstance(sends, list):
            raise error_at(t.value_loc("sends"), f"{what}: sends: expected a list of messages")
        for j, msg in enumerate(sends):
            if msg not in messages:
                raise error_at(sends.item_loc(j) if isinstance(sends, LocList) else t.loc,
                               f"{what}: unknown message {excerpt(msg)}{closest(str(msg), messages)}")
        ctrls = []
        ctrl_raw = t["controllers"]
        if not isinstance(ctrl_raw, LocList):
            raise error_at(t.value_loc("controllers"), f"{what}: controllers must be a list")
        for j, c in enumerate(ctrl_raw):
            if not isinstance(c, LocDict):
                raise error_at(ctrl_raw.item_loc(j), f"{what}: a controller is "
                               "{name:, class: 'module:Class', options: {}}")
            check_keys(c, CONTROLLER_KEYS, what=f"{what} controller", required=("name", "class"))
            options = c.get("options") or {}
            if not isinstance(options, dict):
                raise error_at(c.value_loc("options"), "options: expected a mapping")
            for key in ("name", "class"):
                if not isinstance(c[key], str) or not c[key]:
                    raise error_at(c.value_loc(key), f"{what} controller {key}: expected a "
                                   f"string, got {excerpt(c[key])}")
            ctrls.append(ControllerSpec(c["name"], c["class"], dict(options),
                                        c.key_loc("class")))
        period = _time(t, "period", None, what)
        if period <= 0:
            raise error_at(t.value_loc("period"), f"{what}: period must be positive")
        for spec, c in zip(ctrls, ctrl_raw, strict=True):
            check_controller_class(spec, period, what, c.value_loc("options"))
        tasks.append(TaskSpec(name=name, period_ns=period,
                              offset_ns=_time(t, "offset", "0 ms", what),
                              exec_time_ns=_time(t, "exec_time", "0 ms", what),
                              trigger=trigger, sends=tuple(sends), controllers=ctrls,
                              loc=tasks_raw.item_loc(i)))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise error_at(tasks_raw.loc, "task names must be unique")
    timeout_cycles = raw.get("timeout_cycles", 3)
    if isinstance(timeout_cycles, bool) or not isinstance(timeout_cycles, int | float) or not (
            0 < timeout_cycles <= 1e6):
        raise error_at(raw.value_loc("timeout_cycles"), "timeout_cycles: expected a positive "
                       "number up to 1e6")
    loader = raw.get("calibration_loader", DEFAULT_CALIBRATION_LOADER)
    calibration_loader(loader, raw.value_loc("calibration_loader"))  # refuse it now, not later
    node = raw.get("node", ECU)
    if not isinstance(node, str):
        raise error_at(raw.value_loc("node"), f"node: expected a DBC node name, got "
                       f"{excerpt(node)}")
    config = EcuConfig(path=path, calibration=calibration, calibration_loader=loader,
                       timeout_cycles=float(timeout_cycles), tasks=tasks, node=node,
                       signal_names=_signal_names(raw, db, node))
    check_controller_signals(config, db, raw)
    return config


def _received_names(db: Any, node: str) -> set[str]:
    """The signal names the ECU runtime provides from the DBC: every signal of every
    message, and ``<Msg>_RxStatus`` / ``<Msg>_RxErrors`` of each message the node receives."""
    names = {sig.name for m in db.messages for sig in m.signals}
    for m in db.messages:
        if node not in m.senders:
            names.update((f"{m.name}_RxStatus", f"{m.name}_RxErrors"))
    return names


def _signal_names(raw: LocDict, db: Any, node: str) -> dict[str, str]:
    """``signal_names: {controller name: DBC name}``; every DBC name must exist."""
    value = raw.get("signal_names")
    if value is None:
        return {}
    if not isinstance(value, LocDict):
        raise error_at(raw.value_loc("signal_names"), "signal_names: expected a mapping "
                       "{controller signal name: DBC signal name}")
    known = _received_names(db, node)
    names: dict[str, str] = {}
    targets: dict[str, str] = {}
    for key, target in value.items():
        if not isinstance(key, str) or not key or not isinstance(target, str) or not target:
            raise error_at(value.value_loc(key), f"signal_names: {excerpt(key)}: expected a "
                           "controller signal name mapped to a DBC signal name")
        if target not in known:
            raise error_at(value.value_loc(key), f"signal_names: {key} -> {excerpt(target)}: "
                           f"no such signal in the DBC{closest(target, known)}")
        if target in targets:
            raise error_at(value.value_loc(key), f"signal_names: {key} and {targets[target]} "
                           f"both map to the DBC signal {target!r}")
        targets[target] = key
        names[key] = target
    return names


def check_controller_signals(config: EcuConfig, db: Any, raw: LocDict | None = None) -> None:
    """Refuse, before anything runs, a DBC the controllers cannot work with.

    Every declared input of every controller must be a DBC signal (through
    ``signal_names``), a ``<Msg>_RxStatus`` / ``<Msg>_RxErrors`` of a received message,
    or an output of a controller of this ECU. With ``signal_names`` (a DBC of its own),
    every signal of every message the node sends (but the E2E counter and CRC, which the
    runtime fills) must also be written by a controller output. Otherwise a renamed signal
    would run the controllers on its default (the lambda loop open with no warning) or go
    out as a constant. (Without a name map an ECU may leave a sent signal at its DBC
    initial value: test doubles and partial ECUs do.)
    """
    from hil.wire.dbc import counter_signal_name, crc_signal_name

    names = config.signal_names
    known = _received_names(db, config.node)
    written: dict[str, str] = {}           # controller output name -> controller
    for task in config.tasks:
        for spec in task.controllers:
            cls = resolve(spec.cls, kind="controllers")
            for out in getattr(cls, "outputs", ()) or ():
                written.setdefault(out, spec.name)
    for task in config.tasks:
        for spec in task.controllers:
            cls = resolve(spec.cls, kind="controllers")
            for name in getattr(cls, "inputs", ()) or ():
                target = names.get(name, name)
                if target in known or name in written:
                    continue
                raise error_at(spec.loc, f"controller {spec.name} ({spec.cls}) reads "
                               f"{name!r}, which is neither a signal of the DBC"
                               f"{closest(target, known)} nor an output of a controller; "
                               f"map it to the DBC's name in signal_names: "
                               f"{{{name}: <DBC signal>}}")
    if not names:
        return
    sent = {names.get(out, out) for out in written}
    loc = raw.key_loc("signal_names") if raw is not None else config.tasks[0].loc
    for message in db.messages:
        if config.node not in message.senders:
            continue
        e2e = (crc_signal_name(message), counter_signal_name(message))
        for sig in message.signals:
            if sig.name in sent or sig.name in e2e:
                continue
            raise error_at(loc, f"the DBC signal {sig.name!r} of {message.name} (sent by "
                           f"{config.node}) is written by no controller"
                           f"{closest(sig.name, list(written))}; map a controller output to it "
                           f"in signal_names: {{<output>: {sig.name}}}")


def check_controller_class(spec: ControllerSpec, period_ns: int, what: str,
                           options_loc: Loc | None) -> Any:
    """Import the controller class now and check it against the controller contract.

    A class (not any callable: configuration names no other code) with a ``step`` method,
    whose declared ``period`` (seconds, when it declares one) is the task's period, and
    whose declared ``options`` (when it declares them) include every option given.
    """
    try:
        cls = resolve(spec.cls, kind="controllers")
    except ConfigError as exc:
        raise error_at(spec.loc, f"{what} controller {spec.name}: {exc.message}") from None
    except Exception as exc:  # the module itself failed to import: still the config's fault
        raise error_at(spec.loc, f"{what} controller {spec.name}: importing {spec.cls!r} "
                       f"failed: {type(exc).__name__}: {excerpt(str(exc), 100)[1:-1]}") from None
    if not isinstance(cls, type) or not callable(getattr(cls, "step", None)):
        raise error_at(spec.loc, f"{what} controller {spec.name}: {spec.cls!r} is not a "
                       "controller class (a class with step(signals, now); docs/interfaces.md)")
    period = getattr(cls, "period", None)
    if isinstance(period, int | float) and not isinstance(period, bool) and (
            abs(period * 1e9 - period_ns) > 1):
        raise error_at(spec.loc, f"controller {spec.name} ({spec.cls}) declares a period of "
                       f"{period * 1e3:g} ms but {what} runs every {period_ns / 1e6:g} ms")
    declared = getattr(cls, "options", None)
    if isinstance(declared, Mapping):
        for key in spec.options:
            if key not in declared:
                raise error_at(options_loc or spec.loc, f"controller {spec.name}: unknown "
                               f"option {excerpt(key)}{closest(str(key), list(declared))}")
    return cls


@cache
def _loaders() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=CALIBRATION_LOADERS)}


def calibration_loader(ref: Any, loc: Loc | None = None) -> Any:
    """The calibration loader registered under ``ref`` in :data:`CALIBRATION_LOADERS`.

    The ``module:function`` an entry point points at is accepted as another spelling of
    its name; any other importable callable is refused (it would run as configuration).
    """
    loaders = _loaders()
    if isinstance(ref, str):
        if ref in loaders:
            return loaders[ref]
        for ep in loaders.values():
            if ep.value == ref:
                return ep
    raise error_at(loc, f"calibration_loader: {excerpt(ref)} is not a registered calibration "
                   f"loader{closest(str(ref), loaders)}; registered: "
                   f"{', '.join(sorted(loaders)) or 'none'} (entry-point group "
                   f"{CALIBRATION_LOADERS!r})")


def calibration_sets(config: EcuConfig) -> list[str]:
    """The calibration set names ``calibration: <name>`` may use (files next to the ECU's)."""
    base = _calibration_dir(config)
    return sorted(p.stem for p in base.glob("*.yaml")) if base.is_dir() else []


def _calibration_dir(config: EcuConfig) -> Path:
    return (config.calibration.parent if config.calibration
            else config.path.resolve().parent / "calibration")


def load_calibration(config: EcuConfig, override: str | Path | None = None) -> Any:
    """Load the calibration through the controllers' own loader (named in ecu.yaml)."""
    path = config.calibration
    if override is not None:
        candidate = Path(override)
        if not candidate.suffix:
            # A set name: controllers/calibration/<name>.yaml next to ecu.yaml.
            candidate = _calibration_dir(config) / f"{override}.yaml"
            if not candidate.exists():
                raise ConfigError(f"unknown calibration set {str(override)!r}"
                                  f"{closest(str(override), calibration_sets(config))}")
        if not candidate.exists():
            raise ConfigError(f"calibration {str(override)!r} not found ({candidate})")
        path = candidate
    if path is None:
        return None
    key = _calibration_key(config, path)
    cached = _CALIBRATIONS.get(key) if key is not None else None
    if cached is not None:
        from hil.calibration.coverage import observe_scalars

        return observe_scalars(pickle.loads(cached))
    loader = calibration_loader(config.calibration_loader).load()
    try:
        calibration = loader(path)
    except (ValueError, OSError) as exc:
        # The controllers' CalibrationError (a ValueError: controllers never import hil)
        # carries file/line/column like a HilError does; keep them.
        raise ConfigError(getattr(exc, "message", None) or excerpt(str(exc), 200)[1:-1],
                          file=getattr(exc, "file", None) or str(path),
                          line=getattr(exc, "line", None),
                          column=getattr(exc, "column", None)) from None
    from hil.calibration.coverage import observe_scalars

    if key is not None:
        _remember(key, calibration)
    # Which scalars the controllers read: what a scalar change can reach (coverage record).
    return observe_scalars(calibration)


#: Calibrations loaded in this process, pickled as loaded (each bench gets its own copy,
#: since controllers adapt their calibration while they run; unpickling is ~10x cheaper
#: than parsing and validating the file again, which costs more than much of a short
#: run's set-up: a sweep point, a suite's scenarios on one xdist worker). The key is the
#: file's content.
_CALIBRATIONS: dict[tuple[str, str, bytes], bytes] = {}
_CALIBRATIONS_KEPT = 8


_LOCKS = (type(threading.Lock()), type(threading.RLock()))


class _Pickler(pickle.Pickler):
    """A lock (an adaptation's, say) is copied as a new, unlocked lock."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCKS):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock, ())
        return NotImplemented


def _calibration_key(config: EcuConfig, path: str | Path) -> tuple[str, str, bytes] | None:
    import hashlib

    try:
        data = Path(path).read_bytes()
    except OSError:
        return None     # the loader says what is wrong with it
    return (str(config.calibration_loader), str(Path(path).resolve()),
            hashlib.sha256(data).digest())


def _remember(key: tuple[str, str, bytes], calibration: Any) -> None:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(calibration)
    except Exception:  # noqa: BLE001 - a third-party loader's object that does not pickle
        return          # is loaded each time, as before
    pristine = buffer.getvalue()
    while len(_CALIBRATIONS) >= _CALIBRATIONS_KEPT:
        _CALIBRATIONS.pop(next(iter(_CALIBRATIONS)))
    _CALIBRATIONS[key] = pristine
