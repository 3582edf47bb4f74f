"""Fault kinds and parameters: one declaration each (the plant's part and sensor modes in
plants/faults.py, the bus faults in hil/bus/faults.py), checked by the scenario loader at
load time and accepted as loaded by the plant and the network."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hil.bus.faults import BUS_FAULTS, Fault, network_params
from hil.errors import ScenarioError
from hil.scenario.model import Vocabulary, loads_scenario
from plants import build_plant
from plants.faults import PART_FAULTS, SENSOR_FAULTS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plant():
    return build_plant("road_car")


@pytest.fixture(scope="module")
def vocab(plant) -> Vocabulary:
    return Vocabulary.from_dbc_file(REPO / "dbc" / "ntec5.dbc", fault_modes=plant.fault_modes())


def _scenario(fault: str) -> str:
    return ("name: f\ndescription: probes one fault step.\nduration: 2 s\nsteps:\n"
            f"  - at: 1 s\n    fault: {fault}\n")


def _fault(fault: str, vocab: Vocabulary):
    return loads_scenario(_scenario(fault), vocab, "f.yaml").steps[0].fault


def _error(fault: str, vocab: Vocabulary) -> str:
    with pytest.raises(ScenarioError) as exc:
        _fault(fault, vocab)
    return str(exc.value)


@pytest.mark.parametrize("fault,message", [
    # unknown fault kind / mode / target: the closest name
    ("{bus: dorp, message: PlantFast}", "f.yaml:6:18: unknown bus fault 'dorp' (did you "
     "mean 'drop'?)"),
    ("{part: injectors, mode: degradd}", "f.yaml:6:36: unknown fault mode of injectors "
     "'degradd' (did you mean 'degraded'?)"),
    ("{part: injector, mode: degraded}", "f.yaml:6:19: unknown part 'injector' (did you "
     "mean 'injectors'?)"),
    ("{sensor: sensor.lamda, mode: open}", "f.yaml:6:21: unknown sensor 'sensor.lamda' "
     "(did you mean 'sensor.lambda'?)"),
    # unknown parameter: the closest, or the list when none is close
    ("{part: injectors, mode: degraded, factr: 0.9}", "f.yaml:6:46: unknown key 'factr' in "
     "part fault injectors/degraded (did you mean 'factor'?)"),
    ("{part: injectors, mode: degraded, flow_pct: -10}", "f.yaml:6:46: unknown key 'flow_pct' "
     "in part fault injectors/degraded; it takes factor, ramp_s, duration"),
    ("{sensor: sensor.lambda, mode: open, value: 1}", "f.yaml:6:48: unknown key 'value' in "
     "sensor fault sensor.lambda/open; it takes duration"),
    ("{bus: delay, message: PlantFast}", "f.yaml:6:12: bus fault delay needs the key 'by'"),
    ("{sensor: sensor.lambda, mode: drift}", "f.yaml:6:12: sensor fault sensor.lambda/drift "
     "needs the key 'rate_per_s'"),
    # bad unit
    ("{part: turbo, mode: efficiency_degraded, ramp_s: 2 kg}", "f.yaml:6:61: ramp_s: unknown "
     "time unit 'kg'"),
    ("{part: cooling, mode: degraded, factor: 0.5 s}", "f.yaml:6:52: factor: expected a plain "
     "number (no unit), got '0.5 s'"),
    ("{bus: delay, message: PlantFast, by: 5}", "f.yaml:6:49: by: expected a time with a "
     "unit such as '10 ms', got 5"),
    ("{sensor: sensor.lambda, mode: offset, value: 0.1 lambda}", "f.yaml:6:57: value: expected "
     "a number in the sensor's unit, got '0.1 lambda'"),
    # out of range (the severity of a part fault is its factor)
    ("{part: cooling, mode: degraded, factor: 3}", "f.yaml:6:52: factor must be 0..2, got 3"),
    ("{part: cooling, mode: degraded, factor: -0.1}", "f.yaml:6:52: factor must be 0..2, "
     "got -0.1"),
    ("{part: cooling, mode: degraded, factor: .nan}", "f.yaml:6:52: factor must be 0..2, "
     "got nan"),
    ("{part: turbo, mode: efficiency_degraded, ramp_s: -1 s}", "f.yaml:6:61: ramp_s must be "
     ">= 0 s, got -1 s"),
    ("{sensor: sensor.lambda, mode: intermittent, period_s: 0 s}", "f.yaml:6:66: period_s "
     "must be > 0 s, got 0 s"),
    ("{sensor: sensor.lambda, mode: intermittent, duty: 1.5}", "f.yaml:6:62: duty must be "
     "0..1, got 1.5"),
    ("{sensor: sensor.lambda, mode: noise, std: -1}", "f.yaml:6:54: std must be >= 0, got -1"),
    ("{sensor: sensor.lambda, mode: offset, value: .inf}", "f.yaml:6:57: value must be "
     "finite, got inf"),
    ("{bus: drop, message: PlantFast, count: 0}", "f.yaml:6:51: count: expected a whole "
     "number from 1 to 1,000,000,000, got 0"),
    ("{part: cooling, mode: degraded, ramp_s: 1.0e+300}", "f.yaml:6:52: ramp_s: 1e+300 is "
     "beyond the largest number a scenario takes (1e+15)"),
    ("{bus: corrupt, message: PlantFast, field: crcc}", "f.yaml:6:54: unknown field 'crcc' "
     "(did you mean 'crc'?)"),
])
def test_bad_fault_is_one_line_at_its_place(vocab, fault, message):
    assert _error(fault, vocab).startswith(message)


def test_times_with_units_are_converted_to_the_declared_unit(vocab):
    f = _fault("{part: turbo, mode: efficiency_degraded, factor: 0.7, ramp_s: 500 ms}", vocab)
    assert f.params == {"factor": 0.7, "ramp_s": 0.5}
    assert _fault("{part: turbo, mode: efficiency_degraded, ramp_s: 0.5}", vocab).params == {
        "ramp_s": 0.5}
    f = _fault("{sensor: sensor.lambda, mode: intermittent, period_s: 200 ms, duty: 0.25, "
               "duration: 300 ms}", vocab)
    assert f.params == {"period_s": 0.2, "duty": 0.25, "duration_ns": 300_000_000}
    f = _fault("{bus: delay, message: PlantFast, by: 300 us, count: 2}", vocab)
    assert (f.target, f.params) == ("PlantFast", {"by_ns": 300_000, "count": 2})


def _valid_value(param) -> object:
    if param.unit == "s":
        return "250 ms"
    if param.lo is not None and param.hi is not None:
        return param.lo + (param.hi - param.lo) / 4   # not 1.0: healthy is no fault
    return 0.5 if param.lo is None else param.lo + 0.5


def test_every_declared_plant_fault_loads_and_injects(vocab):
    """What the loader accepts, the plant takes as it is (no mapping in between)."""
    modes = {**{t: m for t, m in PART_FAULTS.items()}, "sensor.lambda": SENSOR_FAULTS}
    for target, by_mode in modes.items():
        family = "sensor" if target.startswith("sensor.") else "part"
        for mode, declaration in by_mode.items():
            params = ", ".join(f"{p.name}: {_valid_value(p)}" for p in declaration.params)
            fault = _fault(f"{{{family}: {target}, mode: {mode}"
                           f"{', ' + params if params else ''}}}", vocab)
            fresh = build_plant("road_car")
            fresh.inject_fault(fault.target, fault.mode, **fault.params)
            assert fresh.active_faults()[target] == mode
            fresh.clear_fault(target)


def test_every_bus_fault_kind_reaches_the_network(vocab):
    import cantools

    db = cantools.database.load_file(str(REPO / "dbc" / "ntec5.dbc"))
    ids = {m.name: m.frame_id for m in db.messages}
    lengths = {m.name: m.length for m in db.messages}
    for kind, declaration in BUS_FAULTS.items():
        values = {"message": "PlantFast", "node": "PLANT", "by": "1 ms", "count": 2,
                  "field": "data"}
        params = ", ".join(f"{p.name}: {values[p.name]}" for p in declaration.params
                           if p.required or p.name in ("by", "field"))
        fault = _fault(f"{{bus: {kind}{', ' + params if params else ''}}}", vocab)
        built = Fault.build(kind, **network_params(kind, fault.target, fault.params, ids,
                                                   lengths))
        assert built.kind == kind
        if kind == "corrupt":
            assert (built.params["byte"], built.params["bit"]) == (7, 0)


def test_the_plant_checks_its_own_declaration_too(plant):
    from plants.errors import PlantError

    with pytest.raises(PlantError, match="factor must be 0..2, got 3"):
        plant.inject_fault("cooling", "degraded", factor=3)
    with pytest.raises(PlantError, match="did you mean 'factor'"):
        plant.inject_fault("cooling", "degraded", factr=0.5)
    with pytest.raises(PlantError, match="period_s must be > 0"):
        plant.inject_fault("sensor.lambda", "intermittent", period_s=0.0)
    assert math.isfinite(plant.outputs["sensor.lambda"])


def test_every_fault_in_the_docs_loads(vocab):
    """docs/scenarios.md agrees with the declarations: each `fault: {...}` it shows loads."""
    import re

    text = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
    faults = re.findall(r"fault: (\{(?:part|sensor|bus):[^}\n]*\})", text)
    assert len(faults) >= 4
    for fault in faults:
        assert _fault(fault, vocab) is not None, fault
