"""Rig configuration: which clock, which bus, which ECU, which plant, which DBC.

A rig YAML (``rigs/*.yaml``) describes one bench: ``clock: simulated | wall``,
``ecu: local | external``, the python-can keyword arguments of its bus, the DBC,
the ECU configuration, the plant parameter set and the signal map that joins DBC
signals to plant quantities, and the product names the framework drives or checks
(``operator:`` fault reset and approvals, ``preflight.sanity`` ranges, the plant operating
point ``preflight.operating_point`` holds, the ``overview`` signals of a run's plot): the
framework names none itself. Paths are relative to the rig file. Unknown keys are rejected with the
closest valid key; every error names file and line, and the DBC signals it names are
checked against the DBC (:func:`check_signal_map`) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.config.session import SessionPolicy, parse_session
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

RIG_KEYS = ("name", "description", "clock", "ecu", "dbc", "ecu_config", "calibration",
            "plant", "plant_class", "plant_options", "fmu", "bus", "step", "out_of_range",
            "signal_map", "operator", "preflight", "install", "session", "overview")
#: The rig's ``fmu:`` (docs/plants/fmu.md): an FMU as the plant or as a part of it.
FMU_KEYS = ("path", "replaces", "inputs", "outputs", "parameters")
PREFLIGHT_KEYS = ("listen", "cycle_tolerance", "sanity", "operating_point")
#: What the bench operator does, by the rig's ``operator:`` keys: a scenario's
#: ``approve: X`` / ``reject: X`` pulses ``operator.approve[X]`` / ``operator.reject[X]``;
#: ``fault_reset`` is pulsed when a wall-clock run starts against an external ECU.
OPERATOR_KEYS = ("fault_reset", "approve", "reject")
CLOCKS = ("simulated", "wall")
ECUS = ("local", "external")
OUT_OF_RANGE = ("error", "saturate")
#: Largest magnitude of a signal_map scale or offset.
MAX_FACTOR = 1e12
#: python-can bus arguments that are bit rates: positive integers up to 10 Mbit/s.
BITRATE_KEYS = ("bitrate", "data_bitrate")
MAX_BITRATE = 10_000_000

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
#: The rig a scenario runs on when it names none (relative to the repository root).
DEFAULT_RIG = "rigs/sil.yaml"


@dataclass(frozen=True)
class SignalLink:
    """One DBC signal joined to one plant quantity: signal = quantity * scale + offset."""

    signal: str
    quantity: str
    scale: float = 1.0
    offset: float = 0.0
    loc: Loc | None = None


@dataclass(frozen=True)
class OperatorSignals:
    """The DBC signals of the bench operator's actions (the rig's ``operator:``)."""

    fault_reset: str | None = None
    approve: dict[str, str] = field(default_factory=dict)     # what -> momentary signal
    reject: dict[str, str] = field(default_factory=dict)
    locs: dict[str, Loc | None] = field(default_factory=dict)         # signal -> where it is named


@dataclass(frozen=True)
class SanityRange:
    """Physical plausibility of one signal on the wire (``preflight.sanity``): its range,
    the fastest credible change per second, and (for a value-table signal) only its
    values; None is not checked."""

    low: float | None = None
    high: float | None = None
    max_rate: float | None = None
    loc: Loc | None = None


@dataclass(frozen=True)
class OperatingPoint:
    """Where preflight holds the plant while it listens (``preflight.operating_point``):
    the plant's driver mode (None: as the plant starts) and plant input values."""

    mode: str | None = None
    inputs: dict[str, float] = field(default_factory=dict)
    loc: Loc | None = None
    input_locs: dict[str, Loc | None] = field(default_factory=dict)


@dataclass(frozen=True)
class FmuLink:
    """One FMU variable joined to one plant quantity (``unit``: the FMU variable's)."""

    variable: str
    quantity: str
    unit: str | None = None
    loc: Loc | None = None


@dataclass(frozen=True)
class FmuSpec:
    """The rig's ``fmu:``: which FMU, which part it replaces (None: the whole plant), its
    variable map and parameters; ``locs`` names where each entry is written."""

    path: Path
    replaces: str | None
    inputs: tuple[FmuLink, ...]
    outputs: tuple[FmuLink, ...]
    parameters: dict[str, float]
    locs: dict[tuple[str, ...], Loc] = field(default_factory=dict)

    def loc_of(self, ref: tuple[str, ...] | None) -> Loc | None:
        """Where the entry ``ref`` (plants.fmu.FmuError.ref) is written, else the nearest."""
        while ref:
            if ref in self.locs:
                return self.locs[ref]
            ref = ref[:-1]
        return self.locs.get(())


@dataclass
class RigConfig:
    path: Path
    name: str
    clock: str
    ecu: str
    dbc: Path
    ecu_config: Path | None
    calibration: Path | None
    plant: str
    bus: dict[str, Any]
    step_ns: int
    out_of_range: str
    publish: list[SignalLink]
    apply: list[SignalLink]
    description: str = ""
    preflight: dict[str, Any] = field(default_factory=dict)
    locs: dict[str, Loc | None] = field(default_factory=dict)
    operator: OperatorSignals = field(default_factory=OperatorSignals)
    sanity: dict[str, SanityRange] = field(default_factory=dict)
    session: SessionPolicy | None = None     # how a wall-clock run reaches a known ECU state
    plant_class: str | None = None           # entry point (ntec_hil.plants) or module:Name
    plant_options: dict[str, Any] = field(default_factory=dict)
    fmu: FmuSpec | None = None
    operating_point: OperatingPoint = field(default_factory=OperatingPoint)
    #: Signals (DBC or plant quantities) a run's overview plot shows when its scenario
    #: names none, and what ``hil demo`` tabulates.
    overview: tuple[str, ...] = ()
    overview_locs: tuple[Loc | None, ...] = ()

    @property
    def simulated_bus(self) -> bool:
        return self.bus.get("interface") == "sim"

    def error(self, key: str, message: str) -> ConfigError:
        return error_at(self.locs.get(key, (str(self.path), 1, 1)), message)


def default_rig_path() -> Path:
    return REPO_ROOT / DEFAULT_RIG


def resolve_rig_path(ref: str | Path | None, scenario_file: str | None = None) -> Path:
    """A scenario's ``rig:`` is relative to the scenario's directory, the working
    directory or the repository, in that order; none is the default rig."""
    if ref is None:
        return default_rig_path()
    path = Path(ref)
    if path.is_absolute() and path.exists():
        return path
    for base in ([Path(scenario_file).resolve().parent] if scenario_file else []) + [
            Path.cwd(), REPO_ROOT]:
        if (base / path).exists():
            return (base / path).resolve()
    return REPO_ROOT / path


def _required_path(raw: LocDict, key: str, base: Path) -> Path:
    path = _path(raw, key, base, required=True)
    assert path is not None  # _path raises for a missing required key
    return path


def _path(raw: LocDict, key: str, base: Path, *, required: bool) -> Path | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise error_at(raw.loc, f"rig needs the key {excerpt(key)}")
        return None
    if not isinstance(value, str):
        raise error_at(raw.value_loc(key), f"{key}: expected a path, got {excerpt(value)}")
    path = (base / value).resolve()
    if not path.exists():
        raise error_at(raw.value_loc(key), f"{key}: {excerpt(value)} does not exist ({path})")
    return path


def _string(raw: LocDict, key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise error_at(raw.value_loc(key), f"{key}: expected a string, got {excerpt(value)}")
    return value


def _mapping(raw: LocDict, key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error_at(raw.value_loc(key), f"{key}: expected a mapping, got {excerpt(value)}")
    return dict(value)


def _choice(raw: LocDict, key: str, choices: tuple[str, ...], default: str) -> str:
    value = raw.get(key, default)
    if value not in choices:
        raise error_at(raw.value_loc(key), f"{key}: expected one of {', '.join(choices)}, "
                       f"got {excerpt(value)}{closest(str(value), choices)}")
    return value


def _fmu_links(raw: LocDict, key: str, locs: dict[tuple[str, ...], Loc]) -> tuple[FmuLink, ...]:
    table = raw.get(key)
    if table is None:
        return ()
    if not isinstance(table, LocDict):
        raise error_at(raw.value_loc(key), f"fmu.{key}: expected {{<FMU variable>: <plant "
                       "quantity> or {quantity:, unit:}}")
    locs[(key,)] = raw.key_loc(key) or raw.loc  # type: ignore[assignment]
    out = []
    for variable, spec in table.items():
        where = table.key_loc(variable)
        if not isinstance(variable, str) or not variable:
            raise error_at(where, f"fmu.{key}: expected an FMU variable name, got "
                           f"{excerpt(variable)}")
        locs[(key, variable)] = where  # type: ignore[assignment]
        unit = None
        if isinstance(spec, LocDict):
            check_keys(spec, ("quantity", "unit"), what=f"fmu.{key}.{variable}",
                       required=("quantity",))
            unit = spec.get("unit")
            if unit is not None and not isinstance(unit, str):
                raise error_at(spec.value_loc("unit"), f"fmu.{key}.{variable}.unit: expected "
                               f"a unit name (e.g. m/s), got {excerpt(unit)}")
            quantity = spec["quantity"]
        else:
            quantity = spec
        if not isinstance(quantity, str) or not quantity:
            raise error_at(table.value_loc(variable), f"fmu.{key}.{variable}: expected a "
                           f"plant quantity name or {{quantity:, unit:}}, got {excerpt(quantity)}")
        out.append(FmuLink(variable, quantity, unit, where))
    return tuple(out)


def _fmu(raw: Any, loc: Loc | None, base: Path) -> FmuSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, LocDict):
        raise error_at(getattr(raw, "loc", loc), "fmu: expected {path:, replaces:, inputs:, "
                       "outputs:, parameters:}")
    check_keys(raw, FMU_KEYS, what="fmu", required=("path", "outputs"))
    locs: dict[tuple[str, ...], Loc] = {(): raw.loc or loc}  # type: ignore[dict-item]
    path = _path(raw, "path", base, required=True)
    locs[("path",)] = raw.value_loc("path")  # type: ignore[assignment]
    replaces = raw.get("replaces")
    if replaces is not None and not isinstance(replaces, str):
        raise error_at(raw.value_loc("replaces"), "fmu.replaces: expected the name of a part "
                       f"of the plant (e.g. road_load), got {excerpt(replaces)}")
    if replaces is not None:
        locs[("replaces",)] = raw.value_loc("replaces")  # type: ignore[assignment]
    params = raw.get("parameters") or LocDict()
    if not isinstance(params, LocDict):
        raise error_at(raw.value_loc("parameters"), "fmu.parameters: expected {<FMU "
                       "parameter>: <number>}")
    parameters: dict[str, float] = {}
    locs[("parameters",)] = raw.key_loc("parameters") or raw.loc  # type: ignore[assignment]
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise error_at(params.value_loc(name), f"fmu.parameters.{name}: expected a "
                           f"number, got {excerpt(value)}")
        parameters[str(name)] = float(value)
        locs[("parameters", str(name))] = params.key_loc(name)  # type: ignore[assignment]
    return FmuSpec(path=path,  # type: ignore[arg-type]
                   replaces=replaces, inputs=_fmu_links(raw, "inputs", locs),
                   outputs=_fmu_links(raw, "outputs", locs), parameters=parameters, locs=locs)


def _links(raw: Any, what: str, loc: Loc | None) -> list[SignalLink]:
    if raw is None:
        return []
    if not isinstance(raw, LocDict):
        raise error_at(getattr(raw, "loc", loc), f"{what}: expected a mapping of DBC signal "
                       "to plant quantity")
    links = []
    for signal, spec in raw.items():
        where = raw.key_loc(signal)
        if not isinstance(signal, str):
            raise error_at(where, f"{what}: expected a DBC signal name, got {excerpt(signal)}")
        if isinstance(spec, str):
            links.append(SignalLink(signal, spec, loc=where))
            continue
        if not isinstance(spec, LocDict):
            raise error_at(raw.value_loc(signal), f"{what}.{signal}: expected a plant quantity "
                           "name or {quantity:, scale:, offset:}")
        check_keys(spec, ("quantity", "scale", "offset"), what=f"{what}.{signal}",
                   required=("quantity",))
        for num in ("scale", "offset"):
            value = spec.get(num)
            if num in spec and (isinstance(value, bool) or not isinstance(value, int | float)
                                or not abs(float(value)) <= MAX_FACTOR  # NaN fails too
                                or (num == "scale" and value == 0)):
                raise error_at(spec.value_loc(num), f"{what}.{signal}.{num}: expected a "
                               f"finite{' non-zero' if num == 'scale' else ''} number, "
                               f"got {excerpt(value)}")
        if not isinstance(spec["quantity"], str):
            raise error_at(spec.value_loc("quantity"), f"{what}.{signal}.quantity: expected a "
                           f"plant quantity name, got {excerpt(spec['quantity'])}")
        links.append(SignalLink(signal, spec["quantity"], float(spec.get("scale", 1.0)),
                                float(spec.get("offset", 0.0)), loc=where))
    return links


def _signal_name(raw: LocDict, key: str, what: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise error_at(raw.value_loc(key), f"{what}: expected a DBC signal name, got {value!r}")
    return value


def _operator(raw: Any, loc: Loc | None) -> OperatorSignals:
    if raw is None:
        return OperatorSignals()
    if not isinstance(raw, LocDict):
        raise error_at(getattr(raw, "loc", loc), "operator: expected {fault_reset: <signal>, "
                       "approve: {<what>: <signal>}, reject: {<what>: <signal>}}")
    check_keys(raw, OPERATOR_KEYS, what="operator")
    locs: dict[str, Loc | None] = {}
    fault_reset = None
    if raw.get("fault_reset") is not None:
        fault_reset = _signal_name(raw, "fault_reset", "operator.fault_reset")
        locs[fault_reset] = raw.value_loc("fault_reset")
    actions: dict[str, dict[str, str]] = {}
    for key in ("approve", "reject"):
        table = raw.get(key) or LocDict()
        if not isinstance(table, LocDict):
            raise error_at(raw.value_loc(key), f"operator.{key}: expected {{<what>: <DBC "
                           "signal>}, e.g. {ai_tuner: AiTunerApprove}")
        actions[key] = {}
        for what in table:
            signal = _signal_name(table, what, f"operator.{key}.{what}")
            actions[key][str(what)] = signal
            locs[signal] = table.value_loc(what)
    return OperatorSignals(fault_reset, actions["approve"], actions["reject"], locs)


def _sanity(raw: Any, loc: Loc | None) -> dict[str, SanityRange]:
    if raw is None:
        return {}
    if not isinstance(raw, LocDict):
        raise error_at(getattr(raw, "loc", loc), "preflight.sanity: expected {<DBC signal>: "
                       "{min:, max:, max_rate:}}")
    out = {}
    for signal, spec in raw.items():
        where = raw.key_loc(signal)
        spec = LocDict() if spec is None else spec
        if not isinstance(spec, LocDict):
            raise error_at(raw.value_loc(signal), f"preflight.sanity.{signal}: expected "
                           "{min:, max:, max_rate:} (each optional)")
        check_keys(spec, ("min", "max", "max_rate"), what=f"preflight.sanity.{signal}")
        bounds: dict[str, float | None] = {}
        for key in ("min", "max", "max_rate"):
            value = spec.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or value != value):
                raise error_at(spec.value_loc(key), f"preflight.sanity.{signal}.{key}: "
                               f"expected a number, got {value!r}")
            bounds[key] = None if value is None else float(value)
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            raise error_at(spec.value_loc("max"), f"preflight.sanity.{signal}: max {high:g} "
                           f"is below min {low:g}")
        out[str(signal)] = SanityRange(low, high, bounds["max_rate"], where)
    return out


def _operating_point(raw: Any, loc: Loc | None) -> OperatingPoint:
    if raw is None:
        return OperatingPoint()
    what = "preflight.operating_point"
    if not isinstance(raw, LocDict):
        raise error_at(getattr(raw, "loc", loc), f"{what}: expected {{mode: <driver mode>, "
                       "inputs: {<plant input>: <value>}}")
    check_keys(raw, ("mode", "inputs"), what=what)
    mode = raw.get("mode")
    if mode is not None and (not isinstance(mode, str) or not mode):
        raise error_at(raw.value_loc("mode"), f"{what}.mode: expected the plant's driver "
                       f"mode, got {excerpt(mode)}")
    table = raw.get("inputs") or LocDict()
    if not isinstance(table, LocDict):
        raise error_at(raw.value_loc("inputs"), f"{what}.inputs: expected {{<plant input>: "
                       "<value>}, e.g. {driver.throttle_pct: 15}")
    inputs: dict[str, float] = {}
    locs: dict[str, Loc | None] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise error_at(table.value_loc(name), f"{what}.inputs.{name}: expected a number, "
                           f"got {excerpt(value)}")
        inputs[str(name)] = float(value)
        locs[str(name)] = table.key_loc(name)
    return OperatingPoint(mode, inputs, raw.value_loc("mode") if "mode" in raw else raw.loc,
                          locs)


def _overview(raw: LocDict) -> tuple[tuple[str, ...], tuple[Loc | None, ...]]:
    value = raw.get("overview")
    if value is None:
        return (), ()
    if not isinstance(value, LocList) or not all(isinstance(n, str) and n for n in value):
        raise error_at(raw.value_loc("overview"), "overview: expected a list of signal names "
                       "(DBC signals or plant quantities), e.g. [EngineSpeed, Lambda]")
    return tuple(value), tuple(value.item_loc(i) for i in range(len(value)))


def load_rig(path: str | Path | None = None) -> RigConfig:
    """Read and validate a rig file (default ``rigs/sil.yaml``)."""
    path = Path(path) if path is not None else default_rig_path()
    raw = load_yaml(path)
    if not isinstance(raw, LocDict):
        raise ConfigError("a rig file must be a mapping", file=str(path), line=1)
    check_keys(raw, RIG_KEYS, what="rig", required=("dbc", "bus"))
    base = path.resolve().parent
    clock = _choice(raw, "clock", CLOCKS, "simulated")
    ecu = _choice(raw, "ecu", ECUS, "local")
    bus = raw["bus"]
    if not isinstance(bus, LocDict) or "interface" not in bus:
        raise error_at(raw.value_loc("bus"), "bus: expected python-can keyword arguments "
                       "with at least 'interface' (e.g. {interface: udp_multicast, channel: ...})")
    if not isinstance(bus["interface"], str):
        raise error_at(bus.value_loc("interface"), "bus.interface: expected a python-can "
                       f"interface name, got {excerpt(bus['interface'])}")
    for key in BITRATE_KEYS:
        value = bus.get(key)
        if key in bus and (isinstance(value, bool) or not isinstance(value, int)
                           or not 0 < value <= MAX_BITRATE):
            raise error_at(bus.value_loc(key), f"bus.{key}: expected a whole number of "
                           f"bit/s from 1 to {MAX_BITRATE:,}, got {excerpt(value)}")
    if bus["interface"] == "sim" and clock != "simulated":
        raise error_at(raw.value_loc("clock"), "the simulated bus ('interface: sim') runs only "
                       "with 'clock: simulated'")
    try:
        step_ns = parse_time_ns(raw.get("step", "1 ms"))
    except UnitError as exc:
        raise error_at(raw.value_loc("step"), f"step: {exc}") from None
    if step_ns <= 0:
        raise error_at(raw.value_loc("step"), "step must be positive")
    signal_map = raw.get("signal_map") or LocDict()
    if not isinstance(signal_map, LocDict):
        raise error_at(raw.value_loc("signal_map"), "signal_map: expected {publish:, apply:}")
    check_keys(signal_map, ("publish", "apply"), what="signal_map")
    locs = {key: raw.value_loc(key) for key in raw}
    preflight = raw.get("preflight") or LocDict()
    if not isinstance(preflight, LocDict):
        raise error_at(raw.value_loc("preflight"), "preflight: expected {listen:, "
                       "cycle_tolerance:, sanity:, operating_point:}")
    check_keys(preflight, PREFLIGHT_KEYS, what="preflight")
    # An fmu: without replaces: is the whole plant: then there is no parameter set.
    whole_fmu = isinstance(raw.get("fmu"), dict) and "replaces" not in raw["fmu"]
    overview, overview_locs = _overview(raw)
    rig = RigConfig(
        path=path, name=_string(raw, "name", path.stem), clock=clock, ecu=ecu,
        dbc=_required_path(raw, "dbc", base),
        ecu_config=_path(raw, "ecu_config", base, required=(ecu == "local")),
        calibration=_path(raw, "calibration", base, required=False),
        plant=_string(raw, "plant", "" if ("plant_class" in raw or whole_fmu) else "road_car"),
        bus=dict(bus), step_ns=step_ns,
        out_of_range=_choice(raw, "out_of_range", OUT_OF_RANGE, "error"),
        publish=_links(signal_map.get("publish"), "signal_map.publish", signal_map.loc),
        apply=_links(signal_map.get("apply"), "signal_map.apply", signal_map.loc),
        description=_string(raw, "description", ""),
        preflight=dict(preflight), locs=locs,
        operator=_operator(raw.get("operator"), raw.loc),
        sanity=_sanity(preflight.get("sanity"), preflight.loc),
        session=parse_session(raw.get("session"), raw.loc),
        plant_class=_plant_class(raw), plant_options=_mapping(raw, "plant_options"),
        fmu=_fmu(raw.get("fmu"), raw.loc, base),
        operating_point=_operating_point(preflight.get("operating_point"), preflight.loc),
        overview=overview, overview_locs=overview_locs)
    if rig.plant_options and rig.plant_class is None:
        raise error_at(raw.key_loc("plant_options"), "plant_options: only with plant_class: "
                       "(the keyword arguments of that plant class)")
    if rig.fmu is not None and rig.fmu.replaces is None and (rig.plant_class or rig.plant):
        raise error_at(raw.key_loc("fmu"), "fmu: without 'replaces:' the FMU is the whole "
                       "plant, so the rig names no plant: or plant_class: beside it")
    if rig.session is not None and clock != "wall":
        raise error_at(raw.value_loc("session"), "session: only a wall-clock rig (clock: wall) "
                       "has an ECU session to reach; the SIL bench builds a fresh ECU per run")
    return rig


def _plant_class(raw: LocDict) -> str | None:
    value = raw.get("plant_class")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise error_at(raw.value_loc("plant_class"), "plant_class: expected an entry point "
                       "name of group ntec_hil.plants or 'module:Name', got "
                       f"{excerpt(value)}")
    return value


def check_signal_map(rig: RigConfig, db: Any, plant_outputs: tuple[str, ...] | None,
                     plant_inputs: tuple[str, ...] | None) -> None:
    """Every DBC signal the rig names (signal map, operator, preflight sanity) and every
    mapped plant quantity must exist (closest name suggested); so must the plant inputs of
    the preflight operating point and each overview signal (a DBC signal or a plant
    output)."""
    signals = {s.name for m in db.messages for s in m.signals}
    named = [(link.signal, link.loc) for link in rig.publish + rig.apply]
    named += list(rig.operator.locs.items())
    named += [(signal, spec.loc) for signal, spec in rig.sanity.items()]
    for signal, loc in named:
        if signal not in signals:
            raise error_at(loc, f"unknown DBC signal {excerpt(signal)}"
                           f"{closest(signal, signals)}")
    if plant_outputs is not None:
        for link in rig.publish:
            if link.quantity not in plant_outputs:
                raise error_at(link.loc, f"{link.signal}: the plant has no output "
                               f"{excerpt(link.quantity)}{closest(link.quantity, plant_outputs)}")
    if plant_outputs is not None:
        for name, loc in zip(rig.overview, rig.overview_locs, strict=True):
            if name not in signals and name not in plant_outputs:
                raise error_at(loc, f"overview: {excerpt(name)} is neither a DBC signal nor "
                               f"a plant output{closest(name, [*signals, *plant_outputs])}")
    if plant_inputs is not None:
        for name in rig.operating_point.inputs:
            if name not in plant_inputs:
                raise error_at(rig.operating_point.input_locs.get(name),
                               f"preflight.operating_point.inputs: the plant has no input "
                               f"{excerpt(name)}{closest(name, plant_inputs)}")
        for link in rig.apply:
            if link.quantity not in plant_inputs:
                raise error_at(link.loc, f"{link.signal}: the plant has no input "
                               f"{excerpt(link.quantity)}{closest(link.quantity, plant_inputs)}")
