"""BaseMap: the calibration loader and the maps every controller reads.

A calibration set is one YAML file under ``controllers/calibration/``: named axes,
2-D maps on those axes and scalars with units (docs/controllers/calibration.md).
:func:`load_calibration` validates everything once, at load, and every error is one
line ``file:line:col: message``. Lookups afterwards are plain-Python bilinear
interpolation on lists (for scalars this is several times faster than numpy).

The adapted maps (fuel and spark corrections learnt by the tuner and the AI tuner) live
in the :class:`Calibration` object; controllers of one ECU must share it so that the
100 ms tuner's learning reaches the 1 ms fuel path (see :func:`resolve_calibration`).
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"


class CalibrationError(ValueError):
    """A calibration file is wrong. ``str()`` is one line: ``file:line:col: message``."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        where = ":".join(str(p) for p in (file, line, column) if p is not None)
        super().__init__(f"{where}: {message}" if where else message)


# --------------------------------------------------------------------------- schema

@dataclass(frozen=True)
class MapSpec:
    x_unit: str
    y_unit: str
    unit: str
    lo: float
    hi: float
    doc: str


@dataclass(frozen=True)
class ScalarSpec:
    unit: str          # "" dimensionless, "bool" for true/false
    lo: float
    hi: float
    doc: str


MAP_SPECS: dict[str, MapSpec] = {
    "ve": MapSpec("rpm", "kPa", "%", 20.0, 130.0, "volumetric efficiency"),
    "spark_mbt": MapSpec("rpm", "kPa", "deg", -10.0, 60.0, "spark advance for best torque"),
    "spark_knock_limit": MapSpec("rpm", "kPa", "deg", -20.0, 60.0, "knock-limited spark advance"),
    "lambda_target": MapSpec("rpm", "kPa", "", 0.65, 1.2, "lambda target"),
    "egt_enrichment": MapSpec("rpm", "kPa", "%", 0.0, 30.0, "fuel added at full EGT enrichment"),
    "boost_target": MapSpec("rpm", "%", "kPa", 90.0, 350.0, "boost target over throttle"),
}

_S = ScalarSpec
SCALAR_SPECS: dict[str, ScalarSpec] = {
    # engine geometry (speed-density air mass)
    "displacement": _S("L", 0.5, 8.0, "total swept volume"),
    "cylinders": _S("", 1, 16, "number of cylinders"),
    # rev limits
    "rev_limit": _S("rpm", 1000, 16000, "fuel-cut rev limit in NORMAL"),
    "rev_limit_hyst": _S("rpm", 10, 1000, "fuel returns this far below a rev limit"),
    "overspeed": _S("rpm", 1000, 16383, "latched OVERSPEED fault -> LIMP"),
    "limp_rev_limit": _S("rpm", 1000, 8000, "rev limit in LIMP"),
    # knock
    "knock_retard_step": _S("deg", 0.1, 10.0, "retard added per knocking 1 ms frame"),
    "knock_retard_max": _S("deg", 0.0, 40.0, "maximum knock retard"),
    "knock_recover_delay": _S("s", 0.0, 10.0, "knock-free time before retard recovers"),
    "knock_recover_rate": _S("deg/s", 0.1, 100.0, "retard recovery rate"),
    # overboost and lean (1 ms path)
    "overboost": _S("kPa", 100.0, 500.0, "boost pressure that cuts fuel and opens the wastegate"),
    "overboost_hyst": _S("kPa", 1.0, 100.0, "cut released this far below the threshold"),
    "overboost_repeat_count": _S("", 1, 100, "episodes inside the window that latch LIMP"),
    "overboost_repeat_window": _S("s", 0.1, 600.0, "window of repeated overboost"),
    "lean_lambda": _S("", 1.0, 2.5, "lambda above this at load cuts fuel"),
    "lean_load": _S("kPa", 50.0, 400.0, "manifold pressure above which lean cuts fuel"),
    "lean_load_hyst": _S("kPa", 1.0, 100.0, "lean cut released this far below lean_load"),
    "lean_blank_after_cut": _S("s", 0.0, 10.0, "no lean check this long after any fuel cut"),
    # temperatures: soft (detune starts), hard (LIMP), critical (SHUTDOWN)
    "coolant_soft": _S("degC", 60.0, 150.0, ""), "coolant_hard": _S("degC", 60.0, 160.0, ""),
    "coolant_critical": _S("degC", 60.0, 180.0, ""),
    "oil_soft": _S("degC", 60.0, 170.0, ""), "oil_hard": _S("degC", 60.0, 180.0, ""),
    "oil_critical": _S("degC", 60.0, 200.0, ""),
    "egt_soft": _S("degC", 500.0, 1100.0, ""), "egt_hard": _S("degC", 500.0, 1200.0, ""),
    "egt_critical": _S("degC", 500.0, 1350.0, ""),
    "intake_hard": _S("degC", 30.0, 150.0, "intake air temperature -> LIMP"),
    "temp_recover_hyst": _S("degC", 0.5, 50.0, "a hard-limit fault may clear this far below"),
    # part health -> detune
    "health_detune_start": _S("%", 1.0, 100.0, "health below this starts detuning"),
    "health_detune_full": _S("%", 0.0, 99.0, "health at which the detune is full"),
    "detune_boost_max": _S("kPa", 0.0, 200.0, "boost target reduction at full detune"),
    "detune_spark_max": _S("deg", 0.0, 30.0, "spark retard at full detune"),
    "detune_rev_min": _S("rpm", 1000, 16000, "rev limit at full detune"),
    "detune_hyst": _S("%", 0.0, 50.0, "severity must fall this far before recovery"),
    "detune_recover_rate": _S("%/s", 0.1, 1000.0, "recovery rate of the detune level"),
    # message supervision
    "rx_startup_grace": _S("s", 0.0, 10.0, "NEVER_RECEIVED is not a fault before this time"),
    # lambda control
    "lambda_kp": _S("%", 0.0, 200.0, "trim per unit lambda error"),
    "lambda_ki": _S("%/s", 0.0, 1000.0, "integral trim rate per unit lambda error"),
    "lambda_trim_limit": _S("%", 1.0, 25.0, "closed-loop trim authority"),
    "lambda_cl_min_coolant": _S("degC", -40.0, 100.0, "closed loop needs a warm engine"),
    "lambda_cl_min_rpm": _S("rpm", 0, 3000, "closed loop needs a running engine"),
    "lambda_ol_load": _S("kPa", 50.0, 400.0, "open loop (full load) above this pressure"),
    "lambda_ol_throttle": _S("%", 10.0, 100.0, "open loop (full load) above this throttle"),
    "lambda_plausible_min": _S("", 0.5, 1.0, "plausible sensor range, lower end"),
    "lambda_plausible_max": _S("", 1.0, 2.6, "plausible sensor range, upper end"),
    "lambda_fault_time": _S("s", 0.0, 10.0, "implausible this long -> sensor fault"),
    "lambda_blank_after_cut": _S("s", 0.0, 10.0, "no closed loop/plausibility after a cut"),
    "egt_enrich_start": _S("degC", 400.0, 1200.0, "EGT enrichment starts"),
    "egt_enrich_full": _S("degC", 400.0, 1300.0, "EGT enrichment reaches the map value"),
    # boost control
    "boost_kp": _S("%/kPa", 0.0, 20.0, "wastegate % closed per kPa under target"),
    "boost_ki": _S("%/(kPa*s)", 0.0, 100.0, "integral wastegate rate"),
    "boost_wg_feedforward": _S("%", 0.0, 100.0, "wastegate opening at zero error"),
    # aero
    "drs_min_speed": _S("km/h", 0.0, 400.0, "DRS allowed above this speed"),
    "drs_speed_hyst": _S("km/h", 0.0, 50.0, ""),
    "drs_max_brake": _S("bar", 0.0, 50.0, "any brake above this closes DRS"),
    "drs_max_lat": _S("g", 0.0, 5.0, "DRS allowed below this lateral acceleration"),
    "drs_lat_hyst": _S("g", 0.0, 2.0, ""),
    "brake_on": _S("bar", 0.0, 50.0, "braking above this pressure"),
    "cog_height": _S("m", 0.05, 2.0, "centre of gravity height"),
    "wheelbase": _S("m", 1.0, 5.0, ""),
    "cog_to_front": _S("m", 0.2, 4.0, "CoG to front axle (l_f)"),
    "brake_min_rear_share": _S("", 0.0, 0.6, "rear axle load share under braking, lower bound"),
    "brake_share_hyst": _S("", 0.0, 0.2, ""),
    # tuner
    "tuner_enabled": _S("bool", 0, 1, ""),
    "tuner_min_coolant": _S("degC", 0.0, 120.0, "adapt only on a warm engine"),
    "tuner_stable_rpm": _S("rpm", 1, 2000, "max speed change per 100 ms to count as steady"),
    "tuner_stable_load": _S("kPa", 0.1, 100.0, "max pressure change per 100 ms"),
    "tuner_stable_lambda": _S("", 0.001, 0.5, "max lambda change per 100 ms"),
    "tuner_stable_time": _S("s", 0.1, 60.0, "steady this long before adapting"),
    "tuner_fuel_gain": _S("", 0.0, 1.0, "fraction of the lambda trim learnt per update"),
    "tuner_fuel_step": _S("%", 0.01, 5.0, "bounded fuel change per update"),
    "tuner_fuel_max": _S("%", 0.0, 25.0, "bounded total fuel deviation from the base map"),
    "tuner_spark_step": _S("deg", 0.01, 5.0, "bounded spark change per update"),
    "tuner_spark_max": _S("deg", 0.0, 15.0, "bounded total spark deviation"),
    "tuner_knock_free_time": _S("s", 0.1, 60.0, "knock-free time before advancing spark"),
    "persist_interval": _S("s", 0.1, 3600.0, "minimum time between persisted snapshots"),
    # AI tuner
    "ai_enabled": _S("bool", 0, 1, ""),
    "ai_auto_apply": _S("bool", 0, 1, "apply without human approval"),
    "ai_interval": _S("s", 0.1, 600.0, "time between recommendations"),
    "ai_max_fuel": _S("%", 0.0, 12.7, "recommendation bound, fuel"),
    "ai_max_spark": _S("deg", 0.0, 10.0, "recommendation bound, spark"),
    "ai_stage_timeout": _S("s", 1.0, 3600.0, "a staged recommendation expires after this"),
}
del _S

# Pairs (a, b): a must be below b.
ORDERED_SCALARS: tuple[tuple[str, str], ...] = (
    ("coolant_soft", "coolant_hard"), ("coolant_hard", "coolant_critical"),
    ("oil_soft", "oil_hard"), ("oil_hard", "oil_critical"),
    ("egt_soft", "egt_hard"), ("egt_hard", "egt_critical"),
    ("health_detune_full", "health_detune_start"), ("limp_rev_limit", "rev_limit"),
    ("detune_rev_min", "rev_limit"), ("rev_limit", "overspeed"),
    ("lambda_plausible_min", "lambda_plausible_max"), ("egt_enrich_start", "egt_enrich_full"),
    ("cog_to_front", "wheelbase"),
)

_TOP_KEYS = ("name", "description", "axes", "maps", "scalars")
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)?\s*$")


# --------------------------------------------------------------------------- maps

class Axis:
    """A strictly increasing breakpoint axis; :meth:`locate` is the shared half of a lookup."""

    __slots__ = ("name", "unit", "values", "_n")

    def __init__(self, name: str, unit: str, values: list[float]) -> None:
        self.name = name
        self.unit = unit
        self.values = values
        self._n = len(values)

    def locate(self, x: float) -> tuple[int, float]:
        """(index of the left breakpoint, fraction towards the right one), clamped."""
        v = self.values
        if x <= v[0]:
            return 0, 0.0
        if x >= v[-1]:
            return self._n - 2, 1.0
        i = bisect_right(v, x) - 1
        return i, (x - v[i]) / (v[i + 1] - v[i])

    def nearest(self, x: float) -> int:
        i, f = self.locate(x)
        return i + 1 if f >= 0.5 else i


class Map2D:
    """Values ``z[j][i]`` at (x[i], y[j]): one row per y breakpoint, as written in YAML."""

    __slots__ = ("name", "unit", "x", "y", "z")

    def __init__(self, name: str, unit: str, x: Axis, y: Axis, z: list[list[float]]) -> None:
        self.name = name
        self.unit = unit
        self.x = x
        self.y = y
        self.z = z

    def at(self, i: int, fx: float, j: int, fy: float) -> float:
        r0 = self.z[j]
        r1 = self.z[j + 1]
        a = r0[i] + (r0[i + 1] - r0[i]) * fx
        b = r1[i] + (r1[i + 1] - r1[i]) * fx
        return a + (b - a) * fy

    def lookup(self, x: float, y: float) -> float:
        """Bilinear interpolation, clamped at the axis ends."""
        i, fx = self.x.locate(x)
        j, fy = self.y.locate(y)
        return self.at(i, fx, j, fy)

    def cell(self, x: float, y: float) -> tuple[int, int]:
        """(i, j) of the breakpoint nearest to (x, y)."""
        return self.x.nearest(x), self.y.nearest(y)

    def rows(self) -> list[list[float]]:
        return [list(r) for r in self.z]

    def zeros_like(self, name: str, unit: str) -> Map2D:
        return Map2D(name, unit, self.x, self.y, [[0.0] * len(r) for r in self.z])


@dataclass
class Change:
    """One audited change of an adapted map cell."""

    map: str
    cell: tuple[int, int]
    old: float
    new: float
    by: str
    why: str
    at: float        # controller time, seconds
    version: int = 0  # the adaptation's version this change produced


@dataclass
class Adaptation:
    """The adapted maps: base map + these corrections is what the engine runs on.

    Written by the 100 ms tasks only; the 1 ms path only reads floats from it, and a
    float store is atomic in CPython, so no lock is needed on the step path.
    """

    fuel_pct: Map2D
    spark_deg: Map2D
    version: int = 0
    pending: deque[Change] = field(default_factory=lambda: deque(maxlen=4096))
    pending_lost: int = 0     # changes pushed out of a full ``pending`` before anyone took them
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_cell(self, table: Map2D, i: int, j: int, value: float, *, by: str, why: str,
                 at: float) -> None:
        old = table.z[j][i]
        if old == value:
            return
        table.z[j][i] = value
        self.version += 1
        if len(self.pending) == self.pending.maxlen:
            self.pending_lost += 1       # nobody drained them: counted, never silent
        self.pending.append(Change(table.name, (i, j), old, value, by, why, at, self.version))

    def cells_adapted(self) -> int:
        n = 0
        for t in (self.fuel_pct, self.spark_deg):
            for row in t.z:
                n += sum(1 for v in row if v != 0.0)
        return n

    def snapshot(self) -> dict[str, Any]:
        return {"version": self.version, "fuel_pct": self.fuel_pct.rows(),
                "spark_deg": self.spark_deg.rows()}

    def restore(self, snap: Mapping[str, Any]) -> None:
        for table, key in ((self.fuel_pct, "fuel_pct"), (self.spark_deg, "spark_deg")):
            rows = snap[key]
            if len(rows) != len(table.z) or any(len(r) != len(t) for r, t in zip(rows, table.z, strict=True)):
                raise ValueError(f"adapted map {key!r} does not match the calibration's shape")
            table.z = [[float(v) for v in r] for r in rows]
        self.version = int(snap.get("version", 0))


class Calibration:
    """A validated calibration set: ``maps[name]``, ``scalars[name]``, adaptation."""

    def __init__(self, name: str, path: str, axes: dict[str, Axis], maps: dict[str, Map2D],
                 scalars: dict[str, float]) -> None:
        self.name = name
        self.path = path
        self.axes = axes
        self.maps = maps
        self.scalars = scalars
        self.adapt = Adaptation(maps["ve"].zeros_like("fuel_pct", "%"),
                                maps["spark_mbt"].zeros_like("spark_deg", "deg"))
        # Which controller classes already took this object (see resolve_calibration).
        self._attached: set[str] = set()

    def __getitem__(self, name: str) -> float:
        return self.scalars[name]

    def __repr__(self) -> str:
        return f"Calibration({self.name!r}, {self.path!r})"

    @property
    def cylinder_volume_m3(self) -> float:
        return self.scalars["displacement"] * 1e-3 / self.scalars["cylinders"]


# --------------------------------------------------------------------------- loader

# Limits of a calibration file (docs/controllers/calibration.md): far above any real set
# (the shipped ones are ~12 KB and 4 levels deep), low enough that a hostile or broken
# file is refused at once instead of exhausting memory or the stack.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
_EXCERPT = 60
_TAG_PREFIX = "tag:yaml.org,2002:"
_PLAIN_EXPONENT = re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$")


def _show(value: Any) -> str:
    """``repr(value)`` cut to a bounded excerpt (an error never prints a huge value)."""
    text = repr(value)
    return text if len(text) <= _EXCERPT else text[:_EXCERPT - 3] + "..."


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX):] if tag.startswith(_TAG_PREFIX) else tag


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _loc(path: str, node: yaml.Node | yaml.Mark) -> dict[str, Any]:
    mark = node.start_mark if isinstance(node, yaml.Node) else node
    return {"file": path, "line": mark.line + 1, "column": mark.column + 1}


def _closest(name: str, candidates: Any) -> str:
    if len(str(name)) > 2 * _EXCERPT:           # difflib is quadratic: no suggestion
        return ""
    m = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {m[0]!r}?)" if m else ""


class _CalibrationLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no python tags: they are unknown tags here) with a nesting
    limit, so deep input is an error, not a RecursionError. Duplicate keys and other tags
    are refused where the reader walks the nodes (it never constructs a whole mapping)."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text)
        self.name = path
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise CalibrationError(f"nested deeper than {MAX_DEPTH} levels",
                                       **_loc(self.name, self.peek_event().start_mark))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Reader:
    """Walks the composed node tree so every value keeps its line and column."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.loader: _CalibrationLoader | None = None

    def error(self, node: yaml.Node, message: str) -> CalibrationError:
        return CalibrationError(message, **_loc(self.path, node))

    def root(self) -> yaml.Node:
        try:
            self.loader = _CalibrationLoader(self.text, self.path)  # checks the characters
            node = self.loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = _loc(self.path, mark) if mark else {"file": self.path, "line": 1,
                                                       "column": 1}
            raise CalibrationError(f"YAML syntax error: {exc.problem or exc.context}",
                                   **where) from None
        except yaml.reader.ReaderError as exc:      # a control character (NUL ...)
            line, col = _line_col(self.text, exc.position)
            c = exc.character
            shown = f"U+{c:04X}" if isinstance(c, int) else repr(c)
            raise CalibrationError(f"character {shown} is not allowed in YAML",
                                   self.path, line, col) from None
        except yaml.YAMLError as exc:               # anything else PyYAML refuses
            raise CalibrationError(f"YAML error: {exc}".splitlines()[0], self.path, 1,
                                   1) from None
        if node is None:
            raise CalibrationError("empty calibration file", self.path, 1, 1)
        return node

    def value(self, node: yaml.Node, what: str) -> Any:
        """The value of a single YAML scalar (a list or mapping here is an error)."""
        assert self.loader is not None, "root() first"
        if node.tag == _TAG_PREFIX + "merge":
            raise self.error(node, f"{what}: YAML merge keys (<<) are not supported")
        if node.tag not in self.loader.yaml_constructors:
            raise self.error(node, f"{what}: YAML tag {_show(_short_tag(node.tag))} is not "
                             "allowed in a calibration file")
        if not isinstance(node, yaml.ScalarNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            raise self.error(node, f"{what}: expected a single value, got {kind}")
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise self.error(node, f"{what}: YAML tag {_show(_short_tag(node.tag))} is not "
                             "allowed in a calibration file") from None
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. a 5000-digit int
            raise self.error(node, f"{what}: cannot read value: "
                             f"{str(exc).splitlines()[0][:_EXCERPT]}") from None

    def text_value(self, node: yaml.Node, what: str) -> str:
        v = self.value(node, what)
        if not isinstance(v, str):
            raise self.error(node, f"{what}: expected a string, got {_show(v)}")
        return v

    def mapping(self, node: yaml.Node, what: str, allowed: Any,
                required: Any = ()) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what}: expected a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        allowed = list(allowed)
        for knode, vnode in node.value:
            key = self.value(knode, f"{what} key")
            if not isinstance(key, str):
                raise self.error(knode, f"{what}: expected a name as key, got {_show(key)}")
            if key in out:
                first = out[key][0].start_mark.line + 1
                raise self.error(knode, f"{what}: duplicate key {_show(key)} "
                                 f"(first at line {first})")
            if allowed and key not in allowed:
                raise self.error(knode, f"{what}: unknown key {_show(key)}{_closest(key, allowed)}")
            out[key] = (knode, vnode)
        for key in required:
            if key not in out:
                raise self.error(node, f"{what}: missing key {key!r}")
        return out

    def number(self, node: yaml.Node, what: str) -> float:
        v = self.value(node, what)  # value() returns for scalar nodes only
        if (isinstance(v, str) and isinstance(node, yaml.ScalarNode) and node.style is None
                and _PLAIN_EXPONENT.match(v)):
            v = float(v)        # YAML 1.1 reads 1e3 (no dot) as a string; it is a number
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(node, f"{what}: expected a number, got {_show(v)}")
        return self.finite(node, what, v)

    def finite(self, node: yaml.Node, what: str, v: float | int) -> float:
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            raise self.error(node, f"{what}: expected a finite number, got {_show(v)}")
        return f

    def numbers(self, node: yaml.Node, what: str) -> list[tuple[float, yaml.Node]]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what}: expected a list of numbers")
        return [(self.number(n, what), n) for n in node.value]


def _read_axes(r: _Reader, node: yaml.Node) -> dict[str, Axis]:
    axes: dict[str, Axis] = {}
    for name, (_k, vnode) in r.mapping(node, "axes", ()).items():
        fields = r.mapping(vnode, f"axis {_show(name)}", ("unit", "values"), ("unit", "values"))
        unit = r.text_value(fields["unit"][1], f"axis {_show(name)} unit")
        vals = r.numbers(fields["values"][1], f"axis {_show(name)}")
        if len(vals) < 2:
            raise r.error(fields["values"][1], f"axis {_show(name)}: needs at least 2 breakpoints")
        for (a, _), (b, bnode) in zip(vals, vals[1:], strict=False):
            if not b > a:
                raise r.error(bnode, f"axis {_show(name)}: not strictly increasing "
                              f"({a:g} then {b:g})")
        axes[name] = Axis(name, unit, [v for v, _ in vals])
    return axes


def _read_map(r: _Reader, name: str, node: yaml.Node, spec: MapSpec,
              axes: dict[str, Axis]) -> Map2D:
    f = r.mapping(node, f"map {name!r}", ("x", "y", "unit", "values", "doc"),
                  ("x", "y", "unit", "values"))
    ax: list[Axis] = []
    for key, want in (("x", spec.x_unit), ("y", spec.y_unit)):
        anode = f[key][1]
        aname = r.text_value(anode, f"map {name!r} {key}")
        if aname not in axes:
            raise r.error(anode, f"map {name!r}: unknown axis "
                          f"{_show(aname)}{_closest(aname, axes)}")
        if axes[aname].unit != want:
            raise r.error(anode, f"map {name!r}: {key} axis {_show(aname)} has unit "
                          f"{_show(axes[aname].unit)}, expected {want!r}")
        ax.append(axes[aname])
    unit_node = f["unit"][1]
    unit = r.text_value(unit_node, f"map {name!r} unit")
    if unit != spec.unit:
        raise r.error(unit_node, f"map {name!r}: wrong unit {_show(unit)}, "
                      f"expected {spec.unit!r}")
    rows_node = f["values"][1]
    if not isinstance(rows_node, yaml.SequenceNode):
        raise r.error(rows_node, f"map {name!r}: expected a list of rows")
    nx, ny = len(ax[0].values), len(ax[1].values)
    if len(rows_node.value) != ny:
        raise r.error(rows_node, f"map {name!r}: wrong shape: {len(rows_node.value)} rows, "
                      f"expected {ny} (one per {ax[1].name} breakpoint)")
    z: list[list[float]] = []
    for j, row_node in enumerate(rows_node.value):
        row = r.numbers(row_node, f"map {name!r} row {j}")
        if len(row) != nx:
            raise r.error(row_node, f"map {name!r}: wrong shape: row {j} has {len(row)} values, "
                          f"expected {nx} (one per {ax[0].name} breakpoint)")
        for v, vnode in row:
            if not spec.lo <= v <= spec.hi:
                raise r.error(vnode, f"map {name!r}: value {v:g} outside range "
                              f"[{spec.lo:g}, {spec.hi:g}] {spec.unit}".rstrip())
        z.append([v for v, _ in row])
    return Map2D(name, unit, ax[0], ax[1], z)


def _read_scalar(r: _Reader, name: str, node: yaml.Node, spec: ScalarSpec) -> float:
    what = f"scalar {name!r}"
    raw = r.value(node, what)
    if spec.unit == "bool":
        if not isinstance(raw, bool):
            raise r.error(node, f"{what}: expected true or false, got {_show(raw)}")
        return 1.0 if raw else 0.0
    if isinstance(raw, bool):
        raise r.error(node, f"{what}: expected a number, got {_show(raw)}")
    if isinstance(raw, int | float):
        value, unit = r.finite(node, what, raw), ""
    else:
        m = _QUANTITY.match(str(raw))
        if not m:
            want = f"'<number> {spec.unit}'" if spec.unit else "a number"
            raise r.error(node, f"{what}: expected {want}, got {_show(raw)}")
        value, unit = r.finite(node, what, float(m.group(1))), (m.group(2) or "")
    if unit != spec.unit:
        want = f"unit {spec.unit!r}" if spec.unit else "no unit"
        raise r.error(node, f"{what}: wrong unit {_show(unit)}, expected {want}")
    if not spec.lo <= value <= spec.hi:
        raise r.error(node, f"{what}: value {value:g} outside range "
                      f"[{spec.lo:g}, {spec.hi:g}] {spec.unit}".rstrip())
    return value


def loads_calibration(text: str, path: str = "<string>") -> Calibration:
    """Parse and validate calibration YAML text (``path`` is used in error messages).

    Every problem raises :class:`CalibrationError` with file, line and column; nothing
    else escapes (the fuzz test in tests/controllers/test_calibration_fuzz.py holds it).
    """
    if len(text) > MAX_FILE_BYTES:
        raise CalibrationError(f"calibration file too large ({len(text)} characters, at most "
                               f"{MAX_FILE_BYTES})", path, 1, 1)
    r = _Reader(path, text)
    root = r.root()
    top = r.mapping(root, "calibration", _TOP_KEYS, ("name", "axes", "maps", "scalars"))
    name = r.text_value(top["name"][1], "name")
    if "description" in top:
        r.text_value(top["description"][1], "description")
    axes = _read_axes(r, top["axes"][1])
    maps: dict[str, Map2D] = {}
    mnodes = r.mapping(top["maps"][1], "maps", MAP_SPECS, MAP_SPECS)
    for mname, (_k, vnode) in mnodes.items():
        maps[mname] = _read_map(r, mname, vnode, MAP_SPECS[mname], axes)
    scalars: dict[str, float] = {}
    snodes = r.mapping(top["scalars"][1], "scalars", SCALAR_SPECS, SCALAR_SPECS)
    for sname, (_k, vnode) in snodes.items():
        scalars[sname] = _read_scalar(r, sname, vnode, SCALAR_SPECS[sname])
    for a, b in ORDERED_SCALARS:
        if not scalars[a] < scalars[b]:
            raise r.error(snodes[b][1], f"scalar {b!r} ({scalars[b]:g}) must be above "
                          f"{a!r} ({scalars[a]:g})")
    return Calibration(name, path, axes, maps, scalars)


def shipped_sets() -> list[str]:
    """Names of the calibration sets shipped in ``controllers/calibration/``."""
    return sorted(p.stem for p in CALIBRATION_DIR.glob("*.yaml"))


def load_calibration(path: str | Path) -> Calibration:
    """Load one calibration file; a bare name like ``road_car`` means the shipped set."""
    p = Path(path)
    if not p.suffix and not p.exists():
        if p.name not in shipped_sets():
            raise CalibrationError(f"unknown calibration set {_show(p.name)}"
                                   f"{_closest(p.name, shipped_sets())}; shipped: "
                                   f"{', '.join(shipped_sets())}, or give a file path")
        p = CALIBRATION_DIR / f"{p.name}.yaml"
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CalibrationError(f"cannot read calibration: {exc.strerror}", str(p)) from None
    if len(data) > MAX_FILE_BYTES:
        raise CalibrationError(f"calibration file too large ({len(data)} bytes, at most "
                               f"{MAX_FILE_BYTES})", str(p), 1, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CalibrationError(f"not UTF-8 (byte 0x{data[exc.start]:02x})", str(p), line,
                               col) from None
    return loads_calibration(text, str(p))


# One Calibration per ECU: controllers given a path share the object most recently
# loaded from it, unless their class already took it (then a new ECU is being built).
_shared: dict[str, Calibration] = {}
_shared_lock = threading.Lock()


def resolve_calibration(calibration: Any, owner: str) -> Calibration:
    """What a controller's ``calibration`` argument means.

    - a :class:`Calibration`: used as is (the runtime shares one object per ECU);
    - a path or a shipped set name: loaded, and shared with the other controllers of the
      same ECU, so adaptation learnt at 100 ms reaches the 1 ms path. A controller class
      taking a path a second time means another ECU is being built: it gets a fresh load.
    """
    if isinstance(calibration, Calibration):
        calibration._attached.add(owner)
        return calibration
    if isinstance(calibration, str | Path):
        key = str(Path(calibration).resolve()) if Path(calibration).suffix else str(calibration)
        with _shared_lock:
            cal = _shared.get(key)
            if cal is None or owner in cal._attached:
                cal = load_calibration(calibration)
                _shared[key] = cal
            cal._attached.add(owner)
            return cal
    raise TypeError(f"{owner}: calibration must be a Calibration or a path, "
                    f"got {type(calibration).__name__}")
