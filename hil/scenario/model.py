"""The scenario language: YAML schema, dataclasses, and the loader that checks everything.

A scenario file says what to run (rig, calibration, plant parameters, mode, initial
conditions), what to do while it runs (timed or conditional steps: set inputs, ramps,
faults, approvals) and what must hold (expectations). docs/scenarios.md is the reference.

The loader refuses anything it cannot run: unknown keys, signals, messages, fault modes,
units, bad expressions and impossible times all become one :class:`ScenarioError` line
``file:line:column: message``, so a typo fails before a second of simulation is spent.
Names are checked against a :class:`Vocabulary` (the DBC, plus the plant's names when the
caller has them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hil.bus.faults import BUS_FAULTS
from hil.bus.faults import FaultParam as BusParam
from hil.config.rig import DEFAULT_RIG
from hil.config.units import UnitError, format_time_ns, parse_time_ns
from hil.config.yamlio import (
    LocDict,
    LocList,
    check_keys,
    closest,
    excerpt,
    loads_yaml,
    paused_gc,
    read_text,
)
from hil.errors import HilError, ScenarioError
from hil.nodes import BENCH
from hil.scenario.expr import Expr, NamesProvider, compile_expr

__all__ = [
    "Vocabulary", "Scenario", "Step", "Ramp", "Fault", "Clear",
    "Expectation", "Latency", "Never", "Always", "Eventually", "Period", "Budget", "Value",
    "Settle", "load_scenario", "loads_scenario", "DEFAULT_RIG", "MODES", "FAULT_DURATION",
]

Where = tuple[str, int, int]
MODES = ("dyno", "road", "track", "manual")

#: A fault of any family may say how long it lasts; the step player clears it then.
FAULT_DURATION = "duration"
#: Largest magnitude of a number in a scenario (set values, bounds, parameters).
MAX_NUMBER = 1e15
#: Largest ``seed:`` (numpy's generators take 64-bit seeds) and ``count:``.
MAX_SEED = 2**64 - 1
MAX_COUNT = 1_000_000_000
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


# --------------------------------------------------------------------------------------
# What names exist
# --------------------------------------------------------------------------------------

def _provider(names: NamesProvider | None) -> Callable[[str], bool] | None:
    if names is None:
        return None
    if callable(names) and not isinstance(names, Collection):
        return names
    frozen = frozenset(names)
    return frozen.__contains__


def _listing(names: NamesProvider | None) -> list[str]:
    if names is None or (callable(names) and not isinstance(names, Collection)):
        return []
    return sorted(names)


@dataclass(frozen=True)
class Vocabulary:
    """The names a scenario may use, for checking at load time.

    ``signals``: DBC signal names, plain and qualified (``EcuFast.FuelCut``). ``choices``:
    value tables, signal -> {label: number}. ``bench_signals``: DBC signals the bench sends
    (a scenario may ``set`` them). Plant names (``quantities`` readable in conditions,
    ``inputs`` settable, ``params`` overridable), ``tasks`` of the ECU and the plant's
    ``fault_modes`` (target -> mode -> its declaration with parameters, units and ranges:
    ``plant.fault_modes()``, see plants/faults.py) are checked when given and accepted
    unchecked when None (a loader without a plant at hand still checks the whole DBC side
    and the bus faults, which hil.bus.faults declares). ``operator``: what a scenario may
    ``approve`` / ``reject`` ({"approve": names, "reject": names}: the rig's ``operator:``).
    ``bus_faults``: False on a rig whose bus cannot inject them (a real bus).
    """

    signals: Collection[str]
    messages: Collection[str] = ()
    nodes: Collection[str] = ()
    choices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    bench_signals: Collection[str] = ()
    quantities: NamesProvider | None = None
    inputs: NamesProvider | None = None
    params: NamesProvider | None = None
    tasks: Collection[str] | None = None
    fault_modes: Mapping[str, Mapping[str, Any]] | None = None
    operator: Mapping[str, Collection[str]] | None = None
    bus_faults: bool = True
    calibrations: Collection[str] | None = None   # calibration set names, when known

    @classmethod
    def from_dbc(cls, db: Any, **plant: Any) -> Vocabulary:
        """Build from a cantools ``Database``; ``plant`` passes the other fields."""
        signals: set[str] = set()
        bench: set[str] = set()
        choices: dict[str, dict[str, float]] = {}
        for message in db.messages:
            for sig in message.signals:
                qualified = f"{message.name}.{sig.name}"
                signals.update((sig.name, qualified))
                if BENCH in (message.senders or ()):
                    bench.update((sig.name, qualified))
                if sig.choices:
                    table = {str(label): float(number) for number, label in sig.choices.items()}
                    choices[sig.name] = choices[qualified] = table
        return cls(signals=frozenset(signals), messages=frozenset(m.name for m in db.messages),
                   nodes=frozenset(n.name for n in db.nodes), choices=choices,
                   bench_signals=frozenset(bench), **plant)

    @classmethod
    def from_dbc_file(cls, path: str | Path, **plant: Any) -> Vocabulary:
        from hil.wire.dbc import load_dbc  # the one place the bench parses a DBC

        return cls.from_dbc(load_dbc(path), **plant)

    def is_readable(self, name: str) -> bool:
        """A name conditions may read: a DBC signal or a plant quantity."""
        if name in self.signals:
            return True
        quantities = _provider(self.quantities)
        if quantities is not None:
            return quantities(name)
        # Unchecked plant side: any dotted name that does not start like a DBC message
        # (so "EcuFast.FuelCt" still gets its suggestion).
        return "." in name and name.split(".", 1)[0] not in self.messages

    def readable_candidates(self) -> list[str]:
        return sorted(self.signals) + _listing(self.quantities)

    def choices_of(self, name: str) -> Mapping[str, float] | None:
        return self.choices.get(name)


# --------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ramp:
    """Move an input linearly from its value at the step to ``to`` over ``over_ns``."""

    to: float
    over_ns: int


@dataclass(frozen=True)
class Fault:
    """A fault to inject. ``kind`` is part | bus | sensor.

    ``target``: the part (``turbo.wastegate``), the sensor quantity (``sensor.lambda``),
    the message (bus faults) or the node (``bus_off``); None for ``error_frames``.
    ``params``: the mode's parameters, checked against their one declaration (part and
    sensor modes: the plant's, plants/faults.py; bus faults: hil/bus/faults.py). Part and
    sensor parameters are the plant's keywords with float values in the declared unit
    (a ``_s`` parameter written ``500 ms`` is 0.5); bus times are integer ns under
    ``<key>_ns`` (``by_ns``), counts int, ``field`` a name; ``duration_ns`` for any kind.
    """

    kind: str
    target: str | None
    mode: str
    params: Mapping[str, Any]
    where: Where | None = None


@dataclass(frozen=True)
class Clear:
    """Clear faults: of a part, of a sensor, of a message or node (bus), or all."""

    kind: str          # part | sensor | bus | all
    target: str | None
    where: Where | None = None


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step. Exactly one of ``at_ns`` (absolute scenario time) and ``wait_until``.

    Steps run in file order. A ``wait_until`` step blocks the following steps until its
    condition holds (its actions then run) and fails the scenario after ``timeout_ns``.
    Within one step the actions run in the order: clear, fault, set, ramp, approve, reject.
    """

    index: int
    where: Where | None
    at_ns: int | None = None
    wait_until: Expr | None = None
    timeout_ns: int | None = None
    name: str | None = None
    set: Mapping[str, float] = field(default_factory=dict)
    ramp: Mapping[str, Ramp] = field(default_factory=dict)
    fault: Fault | None = None
    clear: Clear | None = None
    approve: str | None = None
    reject: str | None = None

    def describe(self) -> str:
        """How the step reads in a report."""
        when = (f"at {format_time_ns(self.at_ns)}" if self.at_ns is not None
                else f"when {self.wait_until} (timeout {format_time_ns(self.timeout_ns or 0)})")
        actions = []
        if self.clear:
            actions.append(f"clear {self.clear.kind} {self.clear.target or ''}".rstrip())
        if self.fault:
            actions.append(f"{self.fault.kind} fault {self.fault.target or 'bus'} "
                           f"{self.fault.mode}")
        actions += [f"set {k}={v:g}" for k, v in self.set.items()]
        actions += [f"ramp {k} to {r.to:g} over {format_time_ns(r.over_ns)}"
                    for k, r in self.ramp.items()]
        if self.approve:
            actions.append(f"approve {self.approve}")
        if self.reject:
            actions.append(f"reject {self.reject}")
        label = f"{self.name}: " if self.name else ""
        return f"{label}{when}: {', '.join(actions) or 'continue'}"


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """Base of every expectation: its kind, where it is written, how it reads."""

    kind: ClassVar[str] = ""
    where: Where | None = None

    @property
    def label(self) -> str:
        raise NotImplementedError

    @property
    def conditions(self) -> tuple[Expr, ...]:
        return ()

    @property
    def names(self) -> frozenset[str]:
        """Trace names the expectation reads (for recording and plotting)."""
        out: set[str] = set()
        for cond in self.conditions:
            out |= cond.names
        return frozenset(out)


def q(text: object) -> str:
    """Quote a condition for a message: 'x', or "x" when it contains a single quote."""
    s = str(text)
    return f'"{s}"' if "'" in s else f"'{s}'"


def _window_label(during: tuple[int, int | None] | None) -> str:
    if during is None:
        return ""
    end = "end" if during[1] is None else format_time_ns(during[1])
    return f" during [{format_time_ns(during[0])}, {end}]"


@dataclass(frozen=True, kw_only=True)
class Latency(Expectation):
    """For every rising edge of ``cause``: time to the first sample where ``reaction`` holds."""

    kind: ClassVar[str] = "latency"
    cause: Expr
    reaction: Expr
    max_ns: int
    allow_none: bool = False
    during: tuple[int, int | None] | None = None

    @property
    def label(self) -> str:
        return (f"latency {q(self.cause)} -> {q(self.reaction)} "
                f"(max {format_time_ns(self.max_ns)})")

    @property
    def conditions(self) -> tuple[Expr, ...]:
        return (self.cause, self.reaction)


@dataclass(frozen=True, kw_only=True)
class Never(Expectation):
    kind: ClassVar[str] = "never"
    condition: Expr
    during: tuple[int, int | None] | None = None

    @property
    def label(self) -> str:
        return f"never {q(self.condition)}{_window_label(self.during)}"

    @property
    def conditions(self) -> tuple[Expr, ...]:
        return (self.condition,)


@dataclass(frozen=True, kw_only=True)
class Always(Expectation):
    kind: ClassVar[str] = "always"
    condition: Expr
    during: tuple[int, int | None] | None = None

    @property
    def label(self) -> str:
        return f"always {q(self.condition)}{_window_label(self.during)}"

    @property
    def conditions(self) -> tuple[Expr, ...]:
        return (self.condition,)


@dataclass(frozen=True, kw_only=True)
class Eventually(Expectation):
    """``condition`` holds within ``within_ns`` of a start: scenario start (``after`` None),
    a time (``after`` int ns), or the first rising edge of a condition (``after`` Expr;
    every rising edge with ``each``)."""

    kind: ClassVar[str] = "eventually"
    condition: Expr
    within_ns: int
    after: Expr | int | None = None
    each: bool = False
    allow_none: bool = False

    @property
    def label(self) -> str:
        if isinstance(self.after, Expr):
            start = f" after {'each' if self.each else 'first'} {q(self.after)}"
        elif self.after is not None:
            start = f" after {format_time_ns(self.after)}"
        else:
            start = ""
        return f"eventually {q(self.condition)} within {format_time_ns(self.within_ns)}{start}"

    @property
    def conditions(self) -> tuple[Expr, ...]:
        return (self.condition, self.after) if isinstance(self.after, Expr) else (
            self.condition,)


@dataclass(frozen=True, kw_only=True)
class Period(Expectation):
    kind: ClassVar[str] = "period"
    message: str
    nominal_ns: int
    jitter_ns: int
    during: tuple[int, int | None] | None = None

    @property
    def label(self) -> str:
        return (f"period of {self.message} {format_time_ns(self.nominal_ns)} "
                f"± {format_time_ns(self.jitter_ns)}{_window_label(self.during)}")


@dataclass(frozen=True, kw_only=True)
class Budget(Expectation):
    """Execution time of an ECU task's runs (thread CPU time): every run within ``max_ns``
    (``statistic`` "max"), or the 99th percentile within it ("p99")."""

    kind: ClassVar[str] = "budget"
    task: str
    max_ns: int
    statistic: str = "max"

    @property
    def label(self) -> str:
        return f"budget of task {self.task} ({self.statistic} {format_time_ns(self.max_ns)})"


@dataclass(frozen=True, kw_only=True)
class Value(Expectation):
    """The value of ``signal`` at ``at_ns`` (None: the end of the trace)."""

    kind: ClassVar[str] = "value"
    signal: str
    at_ns: int | None = None
    equals: float | None = None
    equals_label: str | None = None   # the value-table label the user wrote, if any
    min: float | None = None
    max: float | None = None
    tolerance: float = 0.0

    @property
    def label(self) -> str:
        when = "end" if self.at_ns is None else format_time_ns(self.at_ns)
        parts = []
        if self.equals is not None:
            shown = self.equals_label or f"{self.equals:g}"
            parts.append(f"== {shown}" + (f" ± {self.tolerance:g}" if self.tolerance else ""))
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return f"value of {self.signal} at {when} {' and '.join(parts)}"

    @property
    def names(self) -> frozenset[str]:
        return frozenset({self.signal})


@dataclass(frozen=True, kw_only=True)
class Settle(Expectation):
    """``signal`` is within ``target ± band`` from ``by_ns`` until ``until_ns`` (None: end)."""

    kind: ClassVar[str] = "settle"
    signal: str
    target: float
    band: float
    by_ns: int
    until_ns: int | None = None

    @property
    def label(self) -> str:
        return (f"settle {self.signal} at {self.target:g} ± {self.band:g} "
                f"by {format_time_ns(self.by_ns)}")

    @property
    def names(self) -> frozenset[str]:
        return frozenset({self.signal})


EXPECTATION_KINDS: dict[str, type[Expectation]] = {
    cls.kind: cls for cls in (Latency, Never, Always, Eventually, Period, Budget, Value, Settle)
}


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    description: str
    duration_ns: int
    file: str
    where: Where | None = None
    tags: tuple[str, ...] = ()
    rig: str = DEFAULT_RIG
    calibration: str | None = None
    plant: str | None = None
    params: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    mode: str | None = None
    mode_config: Mapping[str, Any] = field(default_factory=dict)   # `track:` / `profile:`
    initial: Mapping[str, float] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    expect: tuple[Expectation, ...] = ()

    @property
    def bus_faults(self) -> tuple[Fault, ...]:
        """The bus faults the scenario injects: they need the simulated bus (a real bus
        cannot corrupt a CRC or drop a frame on request)."""
        return tuple(s.fault for s in self.steps if s.fault is not None and s.fault.kind == "bus")

    @property
    def names(self) -> frozenset[str]:
        """Every trace name a condition or expectation reads."""
        out: set[str] = set()
        for step in self.steps:
            if step.wait_until is not None:
                out |= step.wait_until.names
        for exp in self.expect:
            out |= exp.names
        return frozenset(out)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------

_TOP_KEYS = ("name", "description", "tags", "rig", "duration", "calibration", "plant",
             "params", "seed", "mode", "track", "profile", "initial", "steps", "expect")
_STEP_KEYS = ("at", "wait_until", "timeout", "name", "set", "ramp", "fault", "clear",
              "approve", "reject")


def load_scenario(path: str | Path, vocab: Vocabulary, *, doc: Any = None) -> Scenario:
    """Read and check a scenario file; every problem is a one-line :class:`ScenarioError`.

    ``doc``: the file already parsed by :func:`hil.config.yamlio.load_yaml` (the runner
    reads the rig from it first), so a large file is parsed once.
    """
    path = Path(path)
    text = read_text(path, cls=ScenarioError, what="scenario")
    if doc is None:
        return loads_scenario(text, vocab, str(path))
    with paused_gc():  # thousands of compiled conditions, no garbage (yamlio.paused_gc)
        return _Loader(text, str(path), vocab).scenario(doc)


def loads_scenario(text: str, vocab: Vocabulary, filename: str = "<string>") -> Scenario:
    try:
        doc = loads_yaml(text, filename)
    except ScenarioError:
        raise
    except HilError as exc:  # YAML syntax or duplicate key: same place, scenario error class
        raise ScenarioError(exc.message, file=exc.file, line=exc.line,
                            column=exc.column) from None
    with paused_gc():
        return _Loader(text, filename, vocab).scenario(doc)


_UNSET = object()


class _Loader:
    def __init__(self, text: str, filename: str, vocab: Vocabulary) -> None:
        self.lines = text.splitlines()
        self.file = filename
        self.vocab = vocab
        self.duration_ns = 0
        self._candidates: list[str] | None = None
        self._settable_names: object = _UNSET

    def candidates(self) -> list[str]:
        """The readable names for "did you mean" (sorted once per file, not per condition)."""
        if self._candidates is None:
            self._candidates = self.vocab.readable_candidates()
        return self._candidates

    # -- helpers -------------------------------------------------------------------------

    def err(self, loc: Where | None, message: str) -> ScenarioError:
        if loc is None:
            return ScenarioError(message, file=self.file)
        return ScenarioError(message, file=loc[0], line=loc[1], column=loc[2])

    def check(self, mapping: Any, allowed: tuple[str, ...], what: str,
              required: tuple[str, ...] = ()) -> None:
        check_keys(mapping, allowed, what=what, required=required, cls=ScenarioError)

    def expr_loc(self, loc: Where | None) -> Where | None:
        """Position of the expression's first character: after the quote, if quoted."""
        if loc is None:
            return None
        file, line, col = loc
        if 0 < line <= len(self.lines):
            text = self.lines[line - 1]
            if 0 < col <= len(text) and text[col - 1] in "'\"":
                return (file, line, col + 1)
        return loc

    def time(self, d: LocDict, key: str, what: str, *, allow_end: bool = False) -> int | None:
        value = d[key]
        if allow_end and value == "end":
            return None
        try:
            ns = parse_time_ns(value)
        except UnitError as exc:
            raise self.err(d.value_loc(key), f"{what}: {exc}") from None
        if ns > self.duration_ns:
            raise self.err(d.value_loc(key), f"{what} {format_time_ns(ns)} is after the end "
                           f"of the scenario (duration {format_time_ns(self.duration_ns)})")
        return ns

    def span(self, d: LocDict, key: str, what: str) -> int:
        """A length of time (timeouts, bounds): positive, not bounded by the duration."""
        try:
            ns = parse_time_ns(d[key])
        except UnitError as exc:
            raise self.err(d.value_loc(key), f"{what}: {exc}") from None
        if ns <= 0:
            raise self.err(d.value_loc(key), f"{what} must be longer than 0")
        return ns

    def number(self, d: Mapping[Any, Any], key: Any, what: str, loc: Where | None) -> float:
        """A finite number of magnitude at most :data:`MAX_NUMBER` (NaN and inf refused)."""
        value = d[key]
        if isinstance(value, bool):
            return float(value)
        if not isinstance(value, int | float):
            raise self.err(loc, f"{what}: expected a number, got {excerpt(value)}")
        if isinstance(value, int) and value.bit_length() > 64 or not (
                abs(float(value)) <= MAX_NUMBER):  # also False for NaN
            raise self.err(loc, f"{what}: expected a finite number of magnitude at most "
                           f"{MAX_NUMBER:g}, got {excerpt(value)}")
        return float(value)

    def flag(self, d: LocDict, key: str, what: str) -> bool:
        value = d.get(key, False)
        if not isinstance(value, bool):
            raise self.err(d.value_loc(key), f"{what}: expected true or false, got {excerpt(value)}")
        return value

    def string(self, d: LocDict, key: str, what: str) -> str:
        value = d[key]
        if not isinstance(value, str) or not value.strip():
            raise self.err(d.value_loc(key), f"{what}: expected a non-empty string, "
                           f"got {excerpt(value)}")
        return value

    def condition(self, d: LocDict, key: str) -> Expr:
        loc = self.expr_loc(d.value_loc(key))
        expr = compile_expr(d[key], self.vocab.is_readable, self.vocab.choices_of, loc,
                            candidates=self.candidates())
        if not expr.names:
            raise self.err(loc, f"condition {q(expr)} reads no signal, so it proves nothing")
        return expr

    def readable(self, d: LocDict, key: str, what: str) -> str:
        name = self.string(d, key, what)
        if not self.vocab.is_readable(name):
            raise self.err(d.value_loc(key), f"unknown signal or quantity {excerpt(name)}"
                           f"{closest(name, self.candidates())}")
        return name

    def one_of(self, d: LocDict, key: str, options: Collection[str], what: str) -> str:
        value = d[key]
        if value not in options:
            raise self.err(d.value_loc(key), f"unknown {what} {excerpt(value)}"
                           f"{closest(str(value), options)}; one of {', '.join(options)}")
        return value

    def name_in(self, d: LocDict, key: str, names: NamesProvider | None, what: str) -> str:
        value = self.string(d, key, what)
        known = _provider(names)
        if known is not None and not known(value):
            raise self.err(d.value_loc(key), f"unknown {what} {excerpt(value)}"
                           f"{closest(value, _listing(names))}")
        return value

    def window(self, d: LocDict, key: str) -> tuple[int, int | None] | None:
        if key not in d:
            return None
        value = d[key]
        loc = d.value_loc(key)
        if not isinstance(value, LocList) or len(value) != 2:
            raise self.err(loc, f"{key}: expected [start, end], e.g. [1 s, 5 s] or [1 s, end]")
        pair = LocDict({"start": value[0], "end": value[1]})
        pair.value_locs = {"start": value.item_loc(0), "end": value.item_loc(1)}
        start = self.time(pair, "start", f"{key} start")
        end = self.time(pair, "end", f"{key} end", allow_end=True)
        assert start is not None
        if end is not None and end <= start:
            raise self.err(value.item_loc(1), f"{key}: the window ends at "
                           f"{format_time_ns(end)}, not after its start "
                           f"{format_time_ns(start)}")
        return (start, end)

    # -- scenario ------------------------------------------------------------------------

    def scenario(self, doc: Any) -> Scenario:
        if not isinstance(doc, LocDict):
            what = "the file is empty" if doc is None else "the file is not a mapping"
            raise self.err((self.file, 1, 1), f"{what}; a scenario is a mapping with name, "
                           "description, duration, steps and expect")
        self.check(doc, _TOP_KEYS, "scenario", ("name", "description", "duration"))
        name = self.string(doc, "name", "name")
        if not _NAME_RE.match(name):
            raise self.err(doc.value_loc("name"), f"name {excerpt(name)}: use letters, digits, "
                           "'_', '-' and '.' only (it becomes the test id)")
        description = self.string(doc, "description", "description")
        if len(description.split()) < 3:
            raise self.err(doc.value_loc("description"), "description: say in a sentence "
                           "what the scenario proves")
        try:
            self.duration_ns = parse_time_ns(doc["duration"])
        except UnitError as exc:
            raise self.err(doc.value_loc("duration"), f"duration: {exc}") from None
        if self.duration_ns <= 0:
            raise self.err(doc.value_loc("duration"), "duration must be longer than 0")

        tags: tuple[str, ...] = ()
        if "tags" in doc:
            raw = doc["tags"]
            if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
                raise self.err(doc.value_loc("tags"), "tags: expected a list of words")
            tags = tuple(raw)
        seed = doc.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise self.err(doc.value_loc("seed"), "seed: expected an integer from 0 to "
                           f"2**64-1, got {excerpt(seed)}")

        mode = None
        if "mode" in doc:
            mode = self.one_of(doc, "mode", MODES, "mode")
        mode_config: dict[str, Any] = {}
        for key, needs in (("track", "track"), ("profile", "road")):
            if key in doc:
                if mode != needs:
                    raise self.err(doc.key_loc(key), f"{key}: only with mode: {needs}")
                mode_config[key] = doc[key]

        return Scenario(
            name=name, description=description, duration_ns=self.duration_ns,
            file=self.file, where=doc.loc, tags=tags,
            rig=self.string(doc, "rig", "rig") if "rig" in doc else DEFAULT_RIG,
            calibration=self.calibration(doc) if "calibration" in doc else None,
            plant=self.string(doc, "plant", "plant") if "plant" in doc else None,
            params=self.values(doc, "params", self.vocab.params, "plant parameter"),
            seed=seed, mode=mode, mode_config=mode_config,
            initial=self.values(doc, "initial", self._initial_names(), "initial condition"),
            steps=self.steps(doc),
            expect=self.expectations(doc),
        )

    def calibration(self, doc: LocDict) -> str:
        """A calibration set name (checked when the sets are known) or a file path."""
        ref = self.string(doc, "calibration", "calibration")
        if "/" in ref or ref.endswith((".yaml", ".yml")):
            # Relative to the scenario's directory, else to the working directory.
            path = Path(self.file).parent / ref
            if not path.is_file():
                path = Path(ref)
            if not path.is_file():
                raise self.err(doc.value_loc("calibration"), f"calibration file "
                               f"{excerpt(ref)} does not exist")
            return str(path)
        sets = self.vocab.calibrations
        if sets is not None and ref not in sets:
            raise self.err(doc.value_loc("calibration"), f"unknown calibration set "
                           f"{excerpt(ref)}{closest(ref, sets)}; sets: {', '.join(sorted(sets))}")
        return ref

    def _initial_names(self) -> NamesProvider | None:
        inputs, quantities = _provider(self.vocab.inputs), _provider(self.vocab.quantities)
        if inputs is None or quantities is None:
            return None
        # Inputs and states (coolant temperature at start) may both be initialised.
        names = set(_listing(self.vocab.inputs)) | set(_listing(self.vocab.quantities))
        return names or (lambda n: inputs(n) or quantities(n))

    def _settable(self) -> NamesProvider | None:
        """What a step may set or ramp: built once per file (a 1 MB scenario has 15,000
        steps)."""
        if self._settable_names is _UNSET:
            self._settable_names = self._settable_uncached()
        return self._settable_names  # type: ignore[return-value]

    def _settable_uncached(self) -> NamesProvider | None:
        inputs = _provider(self.vocab.inputs)
        if inputs is None:
            return None
        bench = frozenset(self.vocab.bench_signals)
        listed = _listing(self.vocab.inputs)
        return (frozenset(listed) | bench) if listed else (lambda n: n in bench or inputs(n))

    def values(self, doc: LocDict, key: str, names: NamesProvider | None,
               what: str) -> dict[str, float]:
        if key not in doc:
            return {}
        mapping = doc[key]
        if not isinstance(mapping, LocDict):
            raise self.err(doc.value_loc(key), f"{key}: expected a mapping name: number")
        known = _provider(names)
        out = {}
        for name in mapping:
            if known is not None and not known(str(name)):
                raise self.err(mapping.key_loc(name), f"unknown {what} {excerpt(name)}"
                               f"{closest(str(name), _listing(names))}")
            out[str(name)] = self.number(mapping, name, f"{key}: {name}",
                                         mapping.value_loc(name))
        return out

    # -- steps ---------------------------------------------------------------------------

    def steps(self, doc: LocDict) -> tuple[Step, ...]:
        if "steps" not in doc:
            return ()
        raw = doc["steps"]
        if not isinstance(raw, LocList):
            raise self.err(doc.value_loc("steps"), "steps: expected a list")
        steps = []
        last_at: int | None = None
        for i, item in enumerate(raw):
            if not isinstance(item, LocDict):
                raise self.err(raw.item_loc(i), "a step is a mapping with at: or wait_until:")
            step = self.step(i, item)
            if step.at_ns is not None:
                if last_at is not None and step.at_ns < last_at:
                    raise self.err(item.value_loc("at"), f"step at "
                                   f"{format_time_ns(step.at_ns)} is listed after a step at "
                                   f"{format_time_ns(last_at)}; steps run in file order, "
                                   "so sort them by time")
                last_at = step.at_ns
            steps.append(step)
        return tuple(steps)

    def step(self, index: int, d: LocDict) -> Step:
        self.check(d, _STEP_KEYS, "step")
        if ("at" in d) == ("wait_until" in d):
            raise self.err(d.loc, "a step needs exactly one of at: (a time) and wait_until: "
                           "(a condition)")
        kwargs: dict[str, Any] = {"index": index, "where": d.loc}
        if "at" in d:
            if "timeout" in d:
                raise self.err(d.key_loc("timeout"), "timeout: only with wait_until")
            kwargs["at_ns"] = self.time(d, "at", "step time")
        else:
            kwargs["wait_until"] = self.condition(d, "wait_until")
            if "timeout" not in d:
                raise self.err(d.loc, "a wait_until step needs a timeout: (the scenario "
                               "fails if the condition does not hold in time)")
            kwargs["timeout_ns"] = self.span(d, "timeout", "timeout")
        if "name" in d:
            kwargs["name"] = self.string(d, "name", "step name")
        if "set" in d:
            kwargs["set"] = self.values(d, "set", self._settable(), "input")
        if "ramp" in d:
            kwargs["ramp"] = self.ramps(d)
        if "fault" in d:
            kwargs["fault"] = self.fault(d)
        if "clear" in d:
            kwargs["clear"] = self.clear(d)
        for key in ("approve", "reject"):
            if key in d:
                kwargs[key] = self.operator_action(d, key)
        if "at" in d and not any(k in d for k in ("set", "ramp", "fault", "clear", "approve",
                                                   "reject")):
            raise self.err(d.loc, "a timed step needs an action: set, ramp, fault, clear, "
                           "approve or reject")
        return Step(**kwargs)

    def operator_action(self, d: LocDict, key: str) -> str:
        """``approve: X`` / ``reject: X``: X one of the rig's ``operator.<key>`` entries."""
        operator = self.vocab.operator
        if operator is not None and not operator.get(key):
            raise self.err(d.value_loc(key), f"{key}: the rig names no operator.{key} signal "
                           f"(operator: {{{key}: {{<what>: <DBC signal>}}}} in the rig file)")
        return self.name_in(d, key, None if operator is None else operator[key],
                            f"{key} target")

    def ramps(self, d: LocDict) -> dict[str, Ramp]:
        mapping = d["ramp"]
        if not isinstance(mapping, LocDict):
            raise self.err(d.value_loc("ramp"), "ramp: expected {input: {to: x, over: t}}")
        known = _provider(self._settable())
        out = {}
        for name, spec in mapping.items():
            if known is not None and not known(str(name)):
                raise self.err(mapping.key_loc(name), f"unknown input {excerpt(name)}"
                               f"{closest(str(name), _listing(self._settable()))}")
            if not isinstance(spec, LocDict):
                raise self.err(mapping.value_loc(name), f"ramp {name}: expected "
                               "{to: x, over: t}")
            self.check(spec, ("to", "over"), f"ramp of {name}", ("to", "over"))
            out[str(name)] = Ramp(to=self.number(spec, "to", f"ramp {name} to",
                                                 spec.value_loc("to")),
                                  over_ns=self.span(spec, "over", f"ramp {name} over"))
        return out

    def fault(self, d: LocDict) -> Fault:
        spec = d["fault"]
        if not isinstance(spec, LocDict):
            raise self.err(d.value_loc("fault"), "fault: expected a mapping with part:, "
                           "sensor: or bus:")
        kinds = [k for k in ("part", "sensor", "bus") if k in spec]
        if len(kinds) != 1:
            # Point at an unknown key first: "prat:" is more likely a typo than a choice.
            self.check(spec, ("part", "sensor", "bus", "mode", FAULT_DURATION,
                              *self._fault_param_names()), "fault")
            raise self.err(spec.loc, "a fault names exactly one of part:, sensor:, bus:")
        kind = kinds[0]
        if kind == "bus":
            if not self.vocab.bus_faults:
                raise self.err(spec.key_loc("bus"), "bus faults need the simulated bus (a rig "
                               "with interface: sim, e.g. rigs/sil.yaml); on a real bus, "
                               "inject faults at the plant (part: / sensor:)")
            mode = self.one_of(spec, "bus", BUS_FAULTS, "bus fault")
            declared = BUS_FAULTS[mode].params
            self.check_fault_keys(spec, "bus", declared, f"bus fault {mode}")
            target = None
            params: dict[str, Any] = {}
            for param in declared:
                if param.name in spec:
                    value = self.bus_param(spec, param)
                    if param.kind in ("message", "node"):
                        target = value
                    else:
                        params[f"{param.name}_ns" if param.kind == "time" else param.name] = \
                            value
            if "count" in spec and FAULT_DURATION in spec:
                raise self.err(spec.key_loc(FAULT_DURATION), "give count: or duration:, "
                               "not both")
            self._duration(spec, params)
            return Fault("bus", target, mode, params, spec.loc)
        if "mode" not in spec:
            raise self.err(spec.loc, f"a {kind} fault needs mode:")
        modes = self.vocab.fault_modes
        if modes is None:
            target = (self.readable(spec, "sensor", "sensor") if kind == "sensor"
                      else self.string(spec, "part", "part"))
            mode = self.string(spec, "mode", "mode")
            params = {}
            for key in spec:
                if key not in (kind, "mode", FAULT_DURATION):
                    params[str(key)] = self.number(spec, key, str(key), spec.value_loc(key))
            self._duration(spec, params)
            return Fault(kind, target, mode, params, spec.loc)
        target = self.name_in(spec, kind, list(modes), kind)
        mode = self.one_of(spec, "mode", tuple(modes[target]), f"fault mode of {target}")
        declaration = modes[target][mode]
        declared = tuple(getattr(declaration, "params", ()))
        self.check_fault_keys(spec, kind, declared, f"{kind} fault {target}/{mode}",
                              ("mode",))
        params = {p.name: self.plant_param(spec, p) for p in declared if p.name in spec}
        self._duration(spec, params)
        return Fault(kind, target, mode, params, spec.loc)

    def check_fault_keys(self, spec: LocDict, kind: str, declared: tuple[Any, ...],
                         what: str, fixed: tuple[str, ...] = ()) -> None:
        """Unknown keys name the closest parameter, or list the ones the fault takes."""
        params = [p.name for p in declared] + [FAULT_DURATION]
        for key in spec:
            if key not in (kind, *fixed, *params):
                hint = closest(str(key), params) or f"; it takes {', '.join(params)}"
                raise self.err(spec.key_loc(key), f"unknown key {key!r} in {what}{hint}")
        self.check(spec, (kind, *fixed, *params), what,
                   tuple(p.name for p in declared if p.required))

    def _fault_param_names(self) -> set[str]:
        names = {p.name for k in BUS_FAULTS.values() for p in k.params}
        for modes in (self.vocab.fault_modes or {}).values():
            for declaration in modes.values():
                names |= {p.name for p in getattr(declaration, "params", ())}
        return names

    def _duration(self, spec: LocDict, params: dict[str, Any]) -> None:
        if FAULT_DURATION in spec:
            params["duration_ns"] = self.span(spec, FAULT_DURATION, FAULT_DURATION)

    def bus_param(self, spec: LocDict, param: BusParam) -> Any:
        """A bus fault's parameter, checked as hil.bus.faults declares it."""
        key = param.name
        if param.kind == "message":
            return self.name_in(spec, key, self.vocab.messages or None, "message")
        if param.kind == "node":
            return self.name_in(spec, key, self.vocab.nodes or None, "node")
        if param.kind == "time":
            return self.span(spec, key, key)
        if param.kind == "choice":
            return self.one_of(spec, key, param.choices, key)
        count = spec[key]
        if isinstance(count, bool) or not isinstance(count, int) or not (
                1 <= count <= MAX_COUNT):
            raise self.err(spec.value_loc(key), f"{key}: expected a whole number from 1 "
                           f"to {MAX_COUNT:,}, got {excerpt(count)}")
        return count

    def plant_param(self, spec: LocDict, param: Any) -> float:
        """A part or sensor fault's parameter, checked against the plant's declaration
        (plants.faults.FaultParam: name, unit, range). A parameter in seconds takes a time
        with its unit or a bare number of seconds."""
        key, unit = param.name, param.unit
        raw = spec[key]
        loc = spec.value_loc(key)
        if unit == "s" and isinstance(raw, str):
            try:
                value = parse_time_ns(raw, allow_negative=True) / 1e9
            except UnitError as exc:
                raise self.err(loc, f"{key}: {exc}") from None
        elif isinstance(raw, bool) or not isinstance(raw, int | float):
            wanted = f"a number in {unit}" if unit else "a plain number (no unit)"
            raise self.err(loc, f"{key}: expected {wanted}, got {excerpt(raw)}")
        else:
            value = float(raw)
        if math.isfinite(value) and abs(value) > MAX_NUMBER:
            raise self.err(loc, f"{key}: {value:g} is beyond the largest number a scenario "
                           f"takes ({MAX_NUMBER:g})")
        if not param.in_range(value):
            seconds = " s" if unit == "s" else ""
            bounds = param.range_text()
            raise self.err(loc, f"{key} must be {bounds + seconds if bounds else 'finite'}, "
                           f"got {value:g}{seconds}")
        return value

    def clear(self, d: LocDict) -> Clear:
        spec = d["clear"]
        if spec == "all":
            return Clear("all", None, d.value_loc("clear"))
        if not isinstance(spec, LocDict) or len(spec) != 1:
            if isinstance(spec, LocDict):
                self.check(spec, ("part", "sensor", "bus"), "clear")
            raise self.err(d.value_loc("clear"), "clear: expected all, {part: X}, "
                           "{sensor: X} or {bus: <message or node>}")
        self.check(spec, ("part", "sensor", "bus"), "clear")
        (kind,) = spec
        modes = self.vocab.fault_modes
        if kind == "bus":
            known = set(self.vocab.messages) | set(self.vocab.nodes)
            target = self.name_in(spec, "bus", known or None, "message or node")
        elif modes is None and kind == "sensor":
            target = self.readable(spec, "sensor", "sensor")
        else:
            target = self.name_in(spec, kind, list(modes) if modes is not None else None, kind)
        return Clear(kind, target, spec.loc)

    # -- expectations --------------------------------------------------------------------

    def expectations(self, doc: LocDict) -> tuple[Expectation, ...]:
        if "expect" not in doc:
            return ()
        raw = doc["expect"]
        if not isinstance(raw, LocList):
            raise self.err(doc.value_loc("expect"), "expect: expected a list")
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, LocDict) or len(item) != 1:
                if isinstance(item, LocDict):
                    self.check(item, tuple(EXPECTATION_KINDS), "expectation")
                raise self.err(raw.item_loc(i), "an expectation is one of: "
                               f"{', '.join(EXPECTATION_KINDS)} (one per list item)")
            self.check(item, tuple(EXPECTATION_KINDS), "expectation")
            (kind,) = item
            out.append(getattr(self, f"exp_{kind}")(item, kind))
        return tuple(out)

    def _body(self, item: LocDict, kind: str, allowed: tuple[str, ...],
              required: tuple[str, ...]) -> LocDict:
        body = item[kind]
        if not isinstance(body, LocDict):
            raise self.err(item.value_loc(kind), f"{kind}: expected a mapping with "
                           f"{', '.join(required)}")
        self.check(body, allowed, kind, required)
        return body

    def _always_never(self, item: LocDict, kind: str) -> dict[str, Any]:
        if isinstance(item[kind], str):
            return {"condition": self.condition(item, kind), "where": item.key_loc(kind)}
        body = self._body(item, kind, ("condition", "during"), ("condition",))
        return {"condition": self.condition(body, "condition"),
                "during": self.window(body, "during"), "where": item.key_loc(kind)}

    def exp_never(self, item: LocDict, kind: str) -> Never:
        return Never(**self._always_never(item, kind))

    def exp_always(self, item: LocDict, kind: str) -> Always:
        return Always(**self._always_never(item, kind))

    def exp_latency(self, item: LocDict, kind: str) -> Latency:
        body = self._body(item, kind, ("from", "to", "max", "allow_none", "during"),
                          ("from", "to", "max"))
        return Latency(cause=self.condition(body, "from"), reaction=self.condition(body, "to"),
                       max_ns=self.span(body, "max", "latency max"),
                       allow_none=self.flag(body, "allow_none", "allow_none"),
                       during=self.window(body, "during"), where=item.key_loc(kind))

    def exp_eventually(self, item: LocDict, kind: str) -> Eventually:
        body = self._body(item, kind, ("condition", "within", "after", "each", "allow_none"),
                          ("condition", "within"))
        within = self.span(body, "within", "within")
        after: Expr | int | None = None
        if "after" in body:
            raw = body["after"]
            try:
                after = parse_time_ns(raw)
            except UnitError:
                after = None
            if after is None:
                after = self.condition(body, "after")
            elif after + within > self.duration_ns:
                raise self.err(body.value_loc("within"), f"eventually: the deadline "
                               f"{format_time_ns(after + within)} is after the end of the "
                               f"scenario (duration {format_time_ns(self.duration_ns)})")
        elif within > self.duration_ns:
            raise self.err(body.value_loc("within"), "eventually: within is longer than the "
                           "scenario")
        each = self.flag(body, "each", "each")
        if each and not isinstance(after, Expr):
            raise self.err(body.key_loc("each"), "each: only with after: <condition>")
        return Eventually(condition=self.condition(body, "condition"), within_ns=within,
                          after=after, each=each,
                          allow_none=self.flag(body, "allow_none", "allow_none"),
                          where=item.key_loc(kind))

    def exp_period(self, item: LocDict, kind: str) -> Period:
        body = self._body(item, kind, ("message", "nominal", "jitter", "during"),
                          ("message", "nominal", "jitter"))
        message = self.name_in(body, "message", self.vocab.messages or None, "message")
        try:
            jitter = parse_time_ns(body["jitter"])
        except UnitError as exc:
            raise self.err(body.value_loc("jitter"), f"jitter: {exc}") from None
        return Period(message=message, nominal_ns=self.span(body, "nominal", "nominal"),
                      jitter_ns=jitter, during=self.window(body, "during"),
                      where=item.key_loc(kind))

    def exp_budget(self, item: LocDict, kind: str) -> Budget:
        body = self._body(item, kind, ("task", "max", "p99"), ("task",))
        stats = [k for k in ("max", "p99") if k in body]
        if len(stats) != 1:
            raise self.err(item.key_loc(kind), "budget: give exactly one of 'max' (every run) "
                           "or 'p99' (99 % of the runs)")
        stat = stats[0]
        return Budget(task=self.name_in(body, "task", self.vocab.tasks, "task"),
                      max_ns=self.span(body, stat, f"budget {stat}"), statistic=stat,
                      where=item.key_loc(kind))

    def exp_value(self, item: LocDict, kind: str) -> Value:
        body = self._body(item, kind, ("signal", "at", "equals", "min", "max", "tolerance"),
                          ("signal", "at"))
        signal = self.readable(body, "signal", "signal")
        at = self.time(body, "at", "value at", allow_end=True)
        if not any(k in body for k in ("equals", "min", "max")):
            raise self.err(body.loc, "value: give equals:, min: or max:")
        equals = label = None
        if "equals" in body:
            raw = body["equals"]
            if isinstance(raw, str):
                table = self.vocab.choices_of(signal)
                if not table:
                    raise self.err(body.value_loc("equals"), f"{signal} has no value table, "
                                   f"so {excerpt(raw)} means nothing; give a number")
                if raw not in table:
                    raise self.err(body.value_loc("equals"), f"{excerpt(raw)} is not a value of "
                                   f"{signal}{closest(raw, table)}; values: "
                                   f"{', '.join(table)}")
                equals, label = float(table[raw]), raw
            else:
                equals = self.number(body, "equals", "equals", body.value_loc("equals"))
        bounds = {k: self.number(body, k, k, body.value_loc(k))
                  for k in ("min", "max", "tolerance") if k in body}
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            raise self.err(body.value_loc("max"), f"value: max {bounds['max']:g} is below "
                           f"min {bounds['min']:g}")
        if bounds.get("tolerance", 0) < 0:
            raise self.err(body.value_loc("tolerance"), "tolerance must not be negative")
        return Value(signal=signal, at_ns=at, equals=equals, equals_label=label,
                     min=bounds.get("min"), max=bounds.get("max"),
                     tolerance=bounds.get("tolerance", 0.0), where=item.key_loc(kind))

    def exp_settle(self, item: LocDict, kind: str) -> Settle:
        body = self._body(item, kind, ("signal", "target", "band", "by", "until"),
                          ("signal", "target", "band", "by"))
        signal = self.readable(body, "signal", "signal")
        band = self.number(body, "band", "band", body.value_loc("band"))
        if band <= 0:
            raise self.err(body.value_loc("band"), "band must be greater than 0")
        by = self.time(body, "by", "settle by")
        assert by is not None
        until = self.time(body, "until", "settle until", allow_end=True) if "until" in body \
            else None
        if until is not None and until <= by:
            raise self.err(body.value_loc("until"), f"settle: until {format_time_ns(until)} "
                           f"is not after by {format_time_ns(by)}")
        return Settle(signal=signal, target=self.number(body, "target", "target",
                                                        body.value_loc("target")),
                      band=band, by_ns=by, until_ns=until, where=item.key_loc(kind))
