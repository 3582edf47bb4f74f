"""Two calibrations as changed cells and scalars, and the scenarios a change can reach.

``hil run --changed-since OLD`` where OLD is a calibration file or a git revision (``REV``
for each scenario's own calibration file at that revision, or ``REV:path``). For every
scenario the new calibration is the one it runs with (its ``calibration:``, else the
rig's ECU default); the old one is OLD when it has the same ``name:``.

A scenario is **selected** when

- it has no coverage record in the index yet, or its file changed since the record;
- its controllers read a changed scalar (every controller reads its scalars; the record
  lists them as read);
- its recorded lookups touched a changed cell (a breakpoint whose value entered an
  interpolation, see :mod:`hil.calibration.coverage`), or a map's breakpoints changed;

and **skipped** otherwise: a cell no lookup touched cannot change any value the
controllers computed, so the run would be the same to the last bit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.calibration.coverage import file_digest, load_index
from hil.errors import ConfigError


@dataclass
class CalibrationDiff:
    name: str
    cells: dict[str, set[tuple[int, int]]] = field(default_factory=dict)   # map -> {(i, j)}
    axes: set[str] = field(default_factory=set)      # maps whose breakpoints changed
    scalars: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (any(self.cells.values()) or self.axes or self.scalars)

    def describe(self) -> str:
        parts = [f"{m}: {len(c)} cell(s)" for m, c in sorted(self.cells.items()) if c]
        parts += [f"{m}: breakpoints" for m in sorted(self.axes)]
        if self.scalars:
            parts.append("scalars " + ", ".join(sorted(self.scalars)))
        return f"{self.name}: " + ("; ".join(parts) if parts else "no change")


def diff(old: Any, new: Any) -> CalibrationDiff:
    """Changed cells per map, maps with other breakpoints, changed scalars."""
    d = CalibrationDiff(new.name)
    for name, m in new.maps.items():
        o = old.maps.get(name)
        if o is None or o.x.values != m.x.values or o.y.values != m.y.values:
            d.axes.add(name)
            continue
        d.cells[name] = {(i, j) for j, (ro, rn) in enumerate(zip(o.z, m.z, strict=True))
                         for i, (a, b) in enumerate(zip(ro, rn, strict=True)) if a != b}
    d.scalars = {k for k in set(old.scalars) | set(new.scalars)
                 if old.scalars.get(k) != new.scalars.get(k)}
    return d


def _git_show(rev: str, path: Path) -> str:
    """The file at a git revision (``git show REV:path``), relative to its repository."""
    path = path.resolve()
    try:
        top = subprocess.run(["git", "-C", str(path.parent), "rev-parse", "--show-toplevel"],
                             check=True, capture_output=True, text=True).stdout.strip()
        rel = path.relative_to(Path(top).resolve())
        return subprocess.run(["git", "-C", top, "show", f"{rev}:{rel.as_posix()}"],
                              check=True, capture_output=True, text=True).stdout
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ConfigError(f"--changed-since {rev}: cannot read {path.name} at that revision: "
                          f"{detail.strip().splitlines()[-1] if detail.strip() else exc}") \
            from None


def parse_calibration(parse: Any, text: str, where: str) -> Any:
    """``parse(text, where)``; a mistake is one ``file:line:col`` line (a ConfigError)."""
    try:
        return parse(text, where)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(getattr(exc, "message", str(exc)),
                          file=getattr(exc, "file", None) or where,
                          line=getattr(exc, "line", None),
                          column=getattr(exc, "column", None)) from None


class OldCalibrations:
    """The OLD side of ``--changed-since``: a file, or a git revision."""

    def __init__(self, ref: str, loads: Any) -> None:
        self.ref = ref
        self._parse = loads            # text, path -> Calibration (the controllers' parser)
        self._file: Any = None
        self._rev: str | None = None
        self._cache: dict[str, Any] = {}
        if Path(ref).is_file():
            self._file = self.loads(Path(ref).read_text(encoding="utf-8"), ref)
        elif ":" in ref and not Path(ref).exists():
            rev, path = ref.split(":", 1)
            self._file = self.loads(_git_show(rev, Path(path)), ref)
        elif Path(ref).suffix in (".yaml", ".yml"):
            raise ConfigError(f"--changed-since: {ref}: no such calibration file")
        else:
            self._rev = ref

    def loads(self, text: str, where: str) -> Any:
        return parse_calibration(self._parse, text, where)

    def for_(self, new: Any) -> Any | None:
        """The old calibration to compare ``new`` with (None: a different calibration)."""
        if self._file is not None:
            return self._file if self._file.name == new.name else None
        key = str(new.path)
        if key not in self._cache:
            self._cache[key] = self.loads(_git_show(str(self._rev), Path(new.path)),
                                          f"{self._rev}:{Path(new.path).name}")
        return self._cache[key]


@dataclass
class Decision:
    file: str
    scenario: str
    selected: bool
    reason: str


def _cell_label(cov_json: Mapping[str, Any], i: int, j: int) -> str:
    x, y = cov_json["x"], cov_json["y"]
    return f"({x['values'][i]:g} {x['unit']}, {y['values'][j]:g} {y['unit']})"


def decide(scenario: Any, record: Mapping[str, Any] | None, d: CalibrationDiff | None,
           new_name: str) -> Decision:
    """Select or skip one scenario, with the reason printed for the user."""
    f, n = str(scenario.file), scenario.name
    if d is None:
        return Decision(f, n, False, f"runs calibration {new_name!r}, which --changed-since "
                        "does not name")
    if d.empty:
        return Decision(f, n, False, f"calibration {new_name!r} unchanged")
    if record is None:
        return Decision(f, n, True, "no coverage record yet")
    if record.get("scenario_sha256") != file_digest(scenario.file):
        return Decision(f, n, True, "scenario file changed since its coverage was recorded")
    if record["calibration"]["name"] != new_name:
        return Decision(f, n, True, f"coverage recorded with calibration "
                        f"{record['calibration']['name']!r}, now {new_name!r}")
    read = d.scalars & set(record.get("scalars_read", ()))
    if read:
        return Decision(f, n, True, "its controllers read changed scalar(s) "
                        + ", ".join(sorted(read)))
    maps = record.get("maps", {})
    for m in sorted(d.axes):
        if m in maps:
            return Decision(f, n, True, f"map {m!r} has new breakpoints")
    for m, cells in sorted(d.cells.items()):
        if m not in maps or not cells:
            continue
        touched = maps[m]["touched"]
        hit = sorted((i, j) for i, j in cells if touched[j][i])
        if hit:
            i, j = hit[0]
            more = f" (+{len(hit) - 1} more)" if len(hit) > 1 else ""
            return Decision(f, n, True, f"its lookups touch changed {m} cell [{i},{j}] "
                            f"{_cell_label(maps[m], i, j)}{more}")
    changed = sum(len(c) for c in d.cells.values())
    return Decision(f, n, False, f"its lookups touch none of the {changed} changed cell(s)"
                    + (f"; reads none of {len(d.scalars)} changed scalar(s)" if d.scalars else ""))


def select(scenarios: Iterable[Any], ref: str, report_dir: str | Path,
           calibration_of: Any, loads: Any) -> tuple[list[Decision], list[CalibrationDiff]]:
    """Decisions for ``scenarios`` (loaded Scenario objects) and the diffs they rest on;
    ``calibration_of(scenario)`` is the calibration it runs with, ``loads(text, path)``
    the calibration parser."""
    old = OldCalibrations(ref, loads)
    idx = load_index(report_dir)
    records = {name: rec for cal in idx["calibrations"].values()
               for name, rec in cal["scenarios"].items()}
    out = []
    diffs: dict[str, CalibrationDiff | None] = {}
    for sc in scenarios:
        new = calibration_of(sc)
        if new is None:
            out.append(Decision(str(sc.file), sc.name, True, "runs without a calibration "
                                "(external ECU): always selected"))
            continue
        key = str(new.path)
        if key not in diffs:
            o = old.for_(new)
            diffs[key] = None if o is None else diff(o, new)
        out.append(decide(sc, records.get(sc.name), diffs[key], new.name))
    return out, [d for d in diffs.values() if d is not None]


def calibration_of(rig: str | Path | None) -> Any:
    """The calibration a scenario runs with: its ``calibration:``, else the rig's ECU's."""
    from hil.config.rig import load_rig, resolve_rig_path
    from hil.nodes.ecu_config import load_calibration, load_ecu_config
    from hil.wire.dbc import load_dbc

    cache: dict[tuple[str, str | None], Any] = {}

    def of(scenario: Any) -> Any:
        rig_path = resolve_rig_path(rig if rig is not None else scenario.rig, scenario.file)
        key = (str(rig_path), scenario.calibration)
        if key not in cache:
            r = load_rig(rig_path)
            if r.ecu_config is None:
                cache[key] = None
            else:
                cfg = load_ecu_config(r.ecu_config, load_dbc(r.dbc))
                cache[key] = load_calibration(cfg, scenario.calibration or r.calibration)
        return cache[key]

    return of


def controllers_parser(rig: str | Path | None = None) -> Any:
    """``loads(text, path)`` of the controllers' calibration module: the module of the
    loader the rig's ECU names (ecu.yaml ``calibration_loader:``), e.g.
    controllers.basemap:loads_calibration."""
    import sys

    from hil.config.rig import load_rig, resolve_rig_path
    from hil.nodes.ecu_config import calibration_loader, load_ecu_config
    from hil.wire.dbc import load_dbc

    r = load_rig(resolve_rig_path(rig))
    cfg = load_ecu_config(r.ecu_config, load_dbc(r.dbc)) if r.ecu_config else None
    loader = calibration_loader(cfg.calibration_loader if cfg else "ntec").load()
    loads = getattr(sys.modules.get(loader.__module__), "loads_calibration", None)
    if loads is None:
        raise ConfigError(f"calibration loader {loader.__module__}.{loader.__name__} has no "
                          "loads_calibration(text, path) next to it: cannot diff or sweep "
                          "calibration text")
    return loads


def scalar_names(cal_text: str) -> list[str]:
    """The scalars a calibration's text declares (its ``scalars:`` mapping)."""
    import yaml

    raw = yaml.safe_load(cal_text) or {}
    scalars = raw.get("scalars") if isinstance(raw, dict) else None
    return [str(k) for k in scalars] if isinstance(scalars, dict) else []


def override_scalars(cal_text: str, values: Mapping[str, float], *, file: str | None = None,
                     what: str = "scalars") -> str:
    """The calibration's text with some scalars set: a number keeps the scalar's unit
    (``"1.5 deg"`` -> ``"2 deg"``), a boolean scalar is true from 0.5 up. An unknown name is
    a ConfigError (with the closest one)."""
    import yaml

    from hil.config.yamlio import closest

    raw = yaml.safe_load(cal_text)
    scalars = raw.get("scalars", {}) if isinstance(raw, dict) else {}
    for key, value in values.items():
        if key not in scalars:
            raise ConfigError(f"{what}.{key}: no such scalar in calibration "
                              f"{raw.get('name')!r}{closest(key, scalars)}", file=file)
        old = scalars[key]
        unit = str(old).split(None, 1)[1] if isinstance(old, str) and " " in old else ""
        scalars[key] = (bool(value >= 0.5) if isinstance(old, bool)
                        else f"{value:.12g} {unit}".strip())
    return yaml.safe_dump(raw, sort_keys=False)
