"""Search specs: a base scenario, a search space, the properties to falsify.

A spec (docs/search.md is the reference) names a base scenario (``base:``, a path relative
to the spec) or gives the scenario inline (``scenario:``), shortens it (``duration:``), and
declares what may vary: the operating point (initial conditions and the vehicle mode),
plant parameters, calibration scalars, and up to ``faults.max`` faults drawn from the single fault vocabulary
(the scenario language's part / sensor / bus faults), each with its time, duration and
severity. ``properties:`` are expectations in the scenario syntax (default: the base's).

Every range is ``[from, to]`` and shrinks towards ``from``: write the nominal or mildest
value first. The loader checks the spec against the rig's vocabulary before anything runs:
a mistake is one line ``file:line:col: message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.bus.faults import BUS_FAULTS
from hil.config.units import UnitError, parse_time_ns
from hil.config.yamlio import LocDict, LocList, check_keys, closest, load_yaml
from hil.errors import HilError, ScenarioError
from hil.scenario.model import MODES, Vocabulary

__all__ = ["SearchSpec", "Range", "FaultKind", "load_spec", "SpecError"]

Loc = tuple[str, int, int]


class SpecError(ScenarioError):
    """A mistake in a search spec (one line, with its position)."""


@dataclass(frozen=True)
class Range:
    """Values ``start, start + step, ...`` up to ``stop`` (inclusive), in the order they are
    tried when shrinking: ``start`` is the simplest. ``start`` may be above ``stop``."""

    start: float
    stop: float
    step: float
    integer: bool = False

    def values(self) -> list[float]:
        n = int(round(abs(self.stop - self.start) / self.step)) if self.step else 0
        sign = 1 if self.stop >= self.start else -1
        out = [self.start + sign * i * self.step for i in range(n + 1)]
        if out[-1] != self.stop and self.step:
            out.append(self.stop)
        return [int(round(v)) if self.integer else round(v, 9) for v in out]


@dataclass(frozen=True)
class FaultKind:
    """One fault template: the scenario-language fault with some parameters as ranges."""

    kind: str                       # part | sensor | bus
    fixed: Mapping[str, Any]        # keys written as they are (part:, mode:, message: ...)
    ranges: Mapping[str, Range]     # severity / count parameters searched
    timed: bool                     # accepts duration: (bus faults with count: do not)
    where: Loc | None = None

    @property
    def label(self) -> str:
        target = self.fixed.get(self.kind)
        mode = self.fixed.get("mode", target if self.kind == "bus" else "")
        name = self.fixed.get("message") or self.fixed.get("node") or ""
        return " ".join(str(p) for p in (self.kind, target if self.kind != "bus" else "",
                                         name, mode) if p)


@dataclass(frozen=True)
class SearchSpec:
    name: str
    description: str
    file: str
    base: Mapping[str, Any]                 # the base scenario document (plain YAML data)
    base_file: str
    duration_ns: int
    seed: int
    rig: str | None
    operating_point: Mapping[str, Range]    # initial conditions
    modes: tuple[str, ...]                  # vehicle modes to try (first is simplest)
    params: Mapping[str, Range]             # plant parameters
    fault_kinds: tuple[FaultKind, ...]
    max_faults: int
    fault_window_ns: tuple[int, int]
    fault_step_ns: int
    fault_duration_ns: tuple[int, int]
    properties: tuple[Any, ...]             # expectation items in the scenario syntax
    where: Loc | None = None
    locs: Mapping[str, Loc | None] = field(default_factory=dict)
    #: calibration scalars (names checked against the calibration the base runs with by
    #: hil.search.engine.load_search_spec; their positions in ``locs`` as "scalars.<name>")
    scalars: Mapping[str, Range] = field(default_factory=dict)


_TOP = ("name", "description", "base", "scenario", "duration", "seed", "rig",
        "operating_point", "mode", "params", "scalars", "faults", "properties")
_FAULTS = ("max", "at", "step", "duration", "kinds")


def plain(value: Any) -> Any:
    """LocDict / LocList -> dict / list, recursively (for yaml.safe_dump)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _err(loc: Loc | None, message: str) -> SpecError:
    if loc is None:
        return SpecError(message)
    return SpecError(message, file=loc[0], line=loc[1], column=loc[2])


def _time(d: LocDict, key: str, what: str) -> int:
    try:
        return parse_time_ns(d[key])
    except UnitError as exc:
        raise _err(d.value_loc(key), f"{what}: {exc}") from None


def _time_pair(d: LocDict, key: str, what: str) -> tuple[int, int]:
    raw = d[key]
    if not isinstance(raw, LocList) or len(raw) != 2:
        raise _err(d.value_loc(key), f"{what}: expected [from, to], e.g. [100 ms, 1 s]")
    out = []
    for i in range(2):
        try:
            out.append(parse_time_ns(raw[i]))
        except UnitError as exc:
            raise _err(raw.item_loc(i), f"{what}: {exc}") from None
    if out[1] < out[0]:
        raise _err(raw.item_loc(1), f"{what}: {raw[1]} is before {raw[0]}")
    return out[0], out[1]


def _number(value: Any, loc: Loc | None, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(loc, f"{what}: expected a number, got {value!r}")
    return float(value)


def _range(d: LocDict, key: str, what: str) -> Range:
    """``[from, to]`` or ``{range: [from, to], step: s}``; 20 steps when no step is given
    (whole numbers when both ends are whole)."""
    raw = d[key]
    loc = d.value_loc(key)
    step = None
    if isinstance(raw, LocDict):
        check_keys(raw, ("range", "step"), what=what, required=("range",), cls=SpecError)
        if "step" in raw:
            step = _number(raw["step"], raw.value_loc("step"), f"{what} step")
            if step <= 0:
                raise _err(raw.value_loc("step"), f"{what} step must be greater than 0")
        loc = raw.value_loc("range")
        raw = raw["range"]
    if not isinstance(raw, LocList) or len(raw) != 2:
        raise _err(loc, f"{what}: expected [from, to] (from is tried first when shrinking)")
    a = _number(raw[0], raw.item_loc(0), what)
    b = _number(raw[1], raw.item_loc(1), what)
    integer = all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
    if step is None:
        step = abs(b - a) / 20 if a != b else 1.0
        if integer:
            step = max(round(step), 1)
    return Range(a, b, step, integer and float(step).is_integer())


def _names_checked(d: LocDict, key: str, known: Any, what: str) -> dict[str, Range]:
    if key not in d:
        return {}
    mapping = d[key]
    if not isinstance(mapping, LocDict):
        raise _err(d.value_loc(key), f"{key}: expected a mapping name: [from, to]")
    out = {}
    for name in mapping:
        if known is not None and not known(str(name)):
            listing = sorted(known.__self__) if hasattr(known, "__self__") and isinstance(
                known.__self__, frozenset) else []
            raise _err(mapping.key_loc(name), f"unknown {what} {name!r}"
                       f"{closest(str(name), listing)}")
        out[str(name)] = _range(mapping, name, f"{key}: {name}")
    return out


def _provider(names: Any) -> Any:
    if names is None:
        return None
    if callable(names) and not isinstance(names, frozenset | set | list | tuple):
        return names
    return frozenset(names).__contains__


def _fault_kind(item: Any, loc: Loc | None, vocab: Vocabulary) -> FaultKind:
    if not isinstance(item, LocDict):
        raise _err(loc, "a fault kind is a mapping in the scenario's fault syntax, e.g. "
                   "{part: turbo.wastegate, mode: stuck_closed}")
    kinds = [k for k in ("part", "sensor", "bus") if k in item]
    if len(kinds) != 1:
        raise _err(item.loc, "a fault kind names exactly one of part:, sensor:, bus:")
    kind = kinds[0]
    fixed: dict[str, Any] = {}
    ranges: dict[str, Range] = {}
    if kind == "bus":
        mode = item["bus"]
        if mode not in BUS_FAULTS:
            raise _err(item.value_loc("bus"), f"unknown bus fault {mode!r}"
                       f"{closest(str(mode), BUS_FAULTS)}; one of {', '.join(BUS_FAULTS)}")
        declared = BUS_FAULTS[mode].params
        check_keys(item, ("bus", *(p.name for p in declared)), what=f"bus fault {mode}",
                   required=tuple(p.name for p in declared if p.required), cls=SpecError)
        if "message" in item and vocab.messages and item["message"] not in vocab.messages:
            raise _err(item.value_loc("message"), f"unknown message {item['message']!r}"
                       f"{closest(str(item['message']), vocab.messages)}")
        if "node" in item and vocab.nodes and item["node"] not in vocab.nodes:
            raise _err(item.value_loc("node"), f"unknown node {item['node']!r}"
                       f"{closest(str(item['node']), vocab.nodes)}")
    elif kind == "sensor":
        mode = item.get("mode")
        # The sensor fault modes, as the plant declares them (the same for every sensor).
        sensor_modes = next((m for t, m in (vocab.fault_modes or {}).items()
                             if t.startswith("sensor.")), {})
        if mode not in sensor_modes:
            raise _err(item.value_loc("mode") if "mode" in item else item.loc,
                       f"unknown sensor fault mode {mode!r}{closest(str(mode), sensor_modes)}"
                       f"; one of {', '.join(sensor_modes)}")
        declared = sensor_modes[str(mode)].params  # a key of sensor_modes: a str
        check_keys(item, ("sensor", "mode", *(p.name for p in declared)),
                   what=f"sensor fault {mode}",
                   required=tuple(p.name for p in declared if p.required), cls=SpecError)
        if not vocab.is_readable(str(item["sensor"])):
            raise _err(item.value_loc("sensor"), f"unknown sensor {item['sensor']!r}"
                       f"{closest(str(item['sensor']), vocab.readable_candidates())}")
    else:
        modes = vocab.fault_modes or {}
        target = item["part"]
        if modes and target not in modes:
            raise _err(item.value_loc("part"), f"unknown part {target!r}"
                       f"{closest(str(target), modes)}; one of {', '.join(modes)}")
        if "mode" not in item:
            raise _err(item.loc, "a part fault needs mode:")
        if modes and item["mode"] not in modes[target]:
            raise _err(item.value_loc("mode"), f"unknown fault mode {item['mode']!r} of "
                       f"{target}; one of {', '.join(modes[target])}")
    for key, value in item.items():
        if key == "duration":
            raise _err(item.key_loc(key), "duration: the search draws it (faults.duration)")
        if isinstance(value, LocList | LocDict) and key not in (kind, "mode", "message",
                                                                 "node", "field"):
            ranges[str(key)] = _range(item, key, f"{kind} fault {key}")
        else:
            fixed[str(key)] = plain(value)
    if "count" in ranges and not ranges["count"].integer:
        raise _err(item.value_loc("count"), "count: a range of whole numbers, e.g. [1, 20]")
    timed = "count" not in fixed and "count" not in ranges
    return FaultKind(kind, fixed, ranges, timed, item.loc)


def load_spec(path: str | Path, vocab_for: Any) -> SearchSpec:
    """Read and check a search spec. ``vocab_for(rig_path_or_None, scenario_file)`` returns
    the :class:`Vocabulary` the scenario is checked against."""
    path = Path(path)
    try:
        doc = load_yaml(path)
    except HilError as exc:
        raise SpecError(exc.message, file=exc.file, line=exc.line, column=exc.column) from None
    file = str(path)
    if not isinstance(doc, LocDict):
        raise _err((file, 1, 1), "a search spec is a mapping with name, description, base "
                   "(or scenario), faults and properties")
    check_keys(doc, _TOP, what="search spec", required=("name", "description"), cls=SpecError)
    name = doc["name"]
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise _err(doc.value_loc("name"), "name: letters, digits, '_' and '-' only")
    description = doc["description"]
    if not isinstance(description, str) or len(description.split()) < 3:
        raise _err(doc.value_loc("description"), "description: say in a sentence what the "
                   "search tries to break")
    if ("base" in doc) == ("scenario" in doc):
        raise _err(doc.loc, "a search spec needs exactly one of base: (a scenario file) and "
                   "scenario: (the scenario inline)")
    if "base" in doc:
        base_path = path.parent / str(doc["base"])
        if not base_path.exists():
            raise _err(doc.value_loc("base"), f"base: {doc['base']!r} does not exist "
                       "(relative to the spec)")
        base = load_yaml(base_path)
        base_file = str(base_path)
    else:
        base = doc["scenario"]
        base_file = file
    if not isinstance(base, LocDict):
        raise _err(doc.loc, "the base scenario is not a mapping")
    for step in base.get("steps") or ():
        if isinstance(step, LocDict) and "wait_until" in step:
            raise _err(step.loc, "hil search needs timed steps only (at:); a wait_until step "
                       "would reorder the searched faults")
    rig = doc.get("rig", base.get("rig"))
    if rig is not None and not isinstance(rig, str):
        raise _err(doc.value_loc("rig"), "rig: expected a path")
    plant = base.get("plant")
    vocab: Vocabulary = vocab_for(rig, base_file, plant if isinstance(plant, str) else None)

    if "duration" in doc:
        duration = _time(doc, "duration", "duration")
    else:
        try:
            duration = parse_time_ns(base["duration"])
        except (UnitError, KeyError):
            raise _err(doc.loc, "duration: give the searched scenario's duration") from None
    if duration <= 0:
        raise _err(doc.value_loc("duration"), "duration must be longer than 0")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _err(doc.value_loc("seed"), f"seed: expected an integer, got {seed!r}")

    known_initial = None
    inputs, quantities = _provider(vocab.inputs), _provider(vocab.quantities)
    if inputs is not None and quantities is not None:
        def known_initial(n: str) -> bool:
            return inputs(n) or quantities(n)
    operating = _names_checked(doc, "operating_point", known_initial, "initial condition")
    params = _names_checked(doc, "params", _provider(vocab.params), "plant parameter")
    scalars = _names_checked(doc, "scalars", None, "calibration scalar")
    scalar_locs = ({f"scalars.{n}": doc["scalars"].key_loc(n) for n in scalars}
                   if scalars else {})
    modes: tuple[str, ...] = ()
    if "mode" in doc:
        raw = doc["mode"]
        if not isinstance(raw, LocList) or not raw:
            raise _err(doc.value_loc("mode"), f"mode: a list of modes to try, from {MODES}")
        for i, m in enumerate(raw):
            if m not in MODES:
                raise _err(raw.item_loc(i), f"unknown mode {m!r}{closest(str(m), MODES)}; "
                           f"one of {', '.join(MODES)}")
        modes = tuple(raw)

    kinds: list[FaultKind] = []
    max_faults = 0
    window = (0, duration)
    step_ns = 10_000_000
    fault_duration = (10_000_000, duration)
    if "faults" in doc:
        faults = doc["faults"]
        check_keys(faults, _FAULTS, what="faults", required=("kinds",), cls=SpecError)
        max_faults = faults.get("max", 1)
        if isinstance(max_faults, bool) or not isinstance(max_faults, int) or not \
                1 <= max_faults <= 8:
            raise _err(faults.value_loc("max"), "faults max: a whole number from 1 to 8")
        if "at" in faults:
            window = _time_pair(faults, "at", "faults at")
        if window[1] > duration:
            raise _err(faults.value_loc("at"), "faults at: the window ends after the searched "
                       "scenario")
        if "step" in faults:
            step_ns = _time(faults, "step", "faults step")
            if step_ns <= 0:
                raise _err(faults.value_loc("step"), "faults step must be longer than 0")
        if "duration" in faults:
            fault_duration = _time_pair(faults, "duration", "faults duration")
            if fault_duration[0] <= 0:
                raise _err(faults.value_loc("duration"), "faults duration must be longer "
                           "than 0")
        raw_kinds = faults["kinds"]
        if not isinstance(raw_kinds, LocList) or not raw_kinds:
            raise _err(faults.value_loc("kinds"), "faults kinds: a list of fault kinds")
        kinds = [_fault_kind(k, raw_kinds.item_loc(i), vocab) for i, k in enumerate(raw_kinds)]

    if "properties" in doc:
        props = doc["properties"]
        if not isinstance(props, LocList) or not props:
            raise _err(doc.value_loc("properties"), "properties: a list of expectations in "
                       "the scenario syntax")
    else:
        props = base.get("expect") or LocList()
        if not props:
            raise _err(doc.loc, "nothing to falsify: give properties: or a base with expect:")
    return SearchSpec(
        name=name, description=" ".join(description.split()), file=file, base=plain(base),
        base_file=base_file, duration_ns=duration, seed=seed, rig=rig,
        operating_point=operating, modes=modes, params=params, fault_kinds=tuple(kinds),
        max_faults=max_faults, fault_window_ns=window, fault_step_ns=step_ns,
        fault_duration_ns=fault_duration, properties=tuple(plain(p) for p in props),
        where=doc.loc, locs={**{k: doc.value_loc(k) for k in doc}, **scalar_locs},
        scalars=scalars)
