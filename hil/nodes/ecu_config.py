"""``ecu.yaml``: which controller runs in which task, at which rate, sending what.

Validated against the DBC at load time; every error is one ``file:line:col`` line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.config.registry import resolve
from hil.config.units import UnitError, parse_time_ns
from hil.config.yamlio import Loc, LocDict, LocList, check_keys, closest, error_at, load_yaml
from hil.errors import ConfigError

DEFAULT_CALIBRATION_LOADER = "controllers.calibration:load_calibration"
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
    node: str = "ECU"


def _time(raw: LocDict, key: str, default: str | None, what: str) -> int:
    value = raw.get(key, default)
    if value is None:
        raise error_at(raw.loc, f"{what} needs {key!r}")
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
    check_keys(raw, ("calibration", "calibration_loader", "timeout_cycles", "tasks", "node"),
               what="ECU configuration", required=("tasks",))
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
        name = str(t["name"])
        what = f"task {name}"
        trigger = t.get("trigger")
        if trigger is not None and trigger not in messages:
            raise error_at(t.value_loc("trigger"), f"{what}: unknown trigger message "
                           f"{trigger!r}{closest(str(trigger), messages)}")
        sends = t.get("sends") or []
        for j, msg in enumerate(sends):
            if msg not in messages:
                raise error_at(sends.item_loc(j) if isinstance(sends, LocList) else t.loc,
                               f"{what}: unknown message {msg!r}{closest(str(msg), messages)}")
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
            ctrls.append(ControllerSpec(str(c["name"]), str(c["class"]), dict(options),
                                        c.key_loc("class")))
        period = _time(t, "period", None, what)
        if period <= 0:
            raise error_at(t.value_loc("period"), f"{what}: period must be positive")
        tasks.append(TaskSpec(name=name, period_ns=period,
                              offset_ns=_time(t, "offset", "0 ms", what),
                              exec_time_ns=_time(t, "exec_time", "0 ms", what),
                              trigger=trigger, sends=tuple(sends), controllers=ctrls,
                              loc=tasks_raw.item_loc(i)))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise error_at(tasks_raw.loc, "task names must be unique")
    timeout_cycles = raw.get("timeout_cycles", 3)
    if not isinstance(timeout_cycles, int | float) or timeout_cycles <= 0:
        raise error_at(raw.value_loc("timeout_cycles"), "timeout_cycles: expected a positive number")
    return EcuConfig(path=path, calibration=calibration,
                     calibration_loader=str(raw.get("calibration_loader",
                                                    DEFAULT_CALIBRATION_LOADER)),
                     timeout_cycles=float(timeout_cycles), tasks=tasks,
                     node=str(raw.get("node", "ECU")))


def load_calibration(config: EcuConfig, override: str | Path | None = None) -> Any:
    """Load the calibration through the controllers' own loader (named in ecu.yaml)."""
    path = config.calibration
    if override is not None:
        candidate = Path(override)
        if not candidate.suffix:
            # A set name: controllers/calibration/<name>.yaml next to ecu.yaml.
            base = (config.calibration.parent if config.calibration
                    else config.path.resolve().parent / "calibration")
            candidate = base / f"{override}.yaml"
        if not candidate.exists():
            raise ConfigError(f"calibration {str(override)!r} not found ({candidate})")
        path = candidate
    if path is None:
        return None
    loader = resolve(config.calibration_loader, kind="controllers")
    from hil.calibration.coverage import observe_scalars

    # Which scalars the controllers read: what a scalar change can reach (coverage record).
    return observe_scalars(loader(path))
