"""The scenario YAML schema: the full example loads, and every error is one file:line:col line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.errors import ExpressionError, ScenarioError
from hil.scenario.model import (
    DEFAULT_RIG,
    Always,
    Budget,
    Eventually,
    Latency,
    Never,
    Period,
    Settle,
    Value,
    Vocabulary,
    load_scenario,
    loads_scenario,
)
from plants.faults import PART_FAULTS, SENSOR_FAULTS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = Path(__file__).with_name("overboost.yaml")

QUANTITIES = {"engine.speed_rpm", "engine.coolant_temp_c", "sensor.lambda", "dyno.speed_rpm",
              "turbo.boost_pressure_kpa"}
INPUTS = {"driver.throttle_pct", "driver.brake_pct", "dyno.speed_rpm"}


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_dbc_file(REPO / "dbc" / "ntec5.dbc", quantities=QUANTITIES,
                                    inputs=INPUTS, params={"engine.displacement_l"},
                                    tasks={"fast", "t10ms"},
                                    fault_modes={"turbo.wastegate": PART_FAULTS["turbo.wastegate"],
                                                 "injectors": PART_FAULTS["injectors"],
                                                 "sensor.lambda": SENSOR_FAULTS},
                                    operator={"approve": ("ai_tuner",),
                                              "reject": ("ai_tuner",)})


@pytest.fixture(scope="module")
def text() -> str:
    return EXAMPLE.read_text()


def test_the_reference_example_loads(vocab):
    s = load_scenario(EXAMPLE, vocab)
    assert s.name == "overboost_wastegate_stuck"
    assert s.duration_ns == 6_000_000_000 and s.rig == DEFAULT_RIG and s.seed == 0
    assert s.tags == ("safety", "turbo") and s.mode == "dyno"
    assert s.params == {"engine.displacement_l": 2.2}
    assert s.initial == {"dyno.speed_rpm": 4500.0, "engine.coolant_temp_c": 90.0}
    st = s.steps
    assert st[0].at_ns == 500_000_000 and st[0].set == {"driver.throttle_pct": 100.0}
    assert (st[1].fault.kind, st[1].fault.target, st[1].fault.mode) == (
        "part", "turbo.wastegate", "stuck_closed")
    assert st[2].ramp["driver.throttle_pct"].over_ns == 500_000_000
    assert st[3].wait_until.names == {"EngineMode"} and st[3].timeout_ns == 2_000_000_000
    assert (st[4].clear.kind, st[4].clear.target) == ("part", "turbo.wastegate")
    assert st[5].fault.params == {"count": 5} and st[5].fault.target == "PlantFast"
    assert (st[6].fault.kind, st[6].fault.target, st[6].fault.mode) == (
        "sensor", "sensor.lambda", "stuck")
    assert st[7].approve == "ai_tuner"
    kinds = [type(e) for e in s.expect]
    assert kinds == [Latency, Never, Always, Eventually, Period, Budget, Value, Settle]
    assert s.expect[0].where == (str(EXAMPLE), 30, 5)
    assert s.expect[2].during == (1_000_000_000, 5_000_000_000)
    assert s.expect[6].equals == 2.0 and s.expect[6].equals_label == "LIMP"
    assert s.names == {"BoostPressure", "FuelCut", "SparkCut", "EngineMode", "Lambda"}
    assert "at 1 s: part fault turbo.wastegate stuck_closed" == st[1].describe()


def test_loads_without_plant_names(text):
    # Only the DBC at hand: plant names are accepted unchecked, DBC names still checked.
    s = loads_scenario(text, Vocabulary.from_dbc_file(REPO / "dbc" / "ntec5.dbc"), "x.yaml")
    assert len(s.steps) == 8


MINIMAL = """\
name: minimal
description: The smallest scenario that proves something about boost.
duration: 2 s
expect:
  - never: "BoostPressure > 280"
"""


def test_minimal_defaults(vocab):
    s = loads_scenario(MINIMAL, vocab, "m.yaml")
    assert s.steps == () and s.rig == DEFAULT_RIG and s.mode is None and s.tags == ()
    assert isinstance(s.expect[0], Never)


def _error(text: str, vocab: Vocabulary) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, vocab, "x.yaml")
    message = str(info.value)
    assert "\n" not in message
    return info.value


# (old, new, "line:col", fragment): each edit of the reference example makes one error.
EDITS = [
    ("duration: 6 s", "duration: 6 sec", "5:11", "unknown time unit 'sec'"),
    ("duration: 6 s", "duration: 6", "5:11", "expected a time with a unit"),
    ("tags:", "tgas:", "3:1", "unknown key 'tgas' in scenario (did you mean 'tags'?)"),
    ("mode: dyno ", "mode: dino ", "10:7", "unknown mode 'dino' (did you mean 'dyno'?)"),
    ("{dyno.speed_rpm: 4500,", "{dyno.sped_rpm: 4500,", "11:11",
     "unknown initial condition 'dyno.sped_rpm' (did you mean 'dyno.speed_rpm'?)"),
    ("{engine.displacement_l: 2.2}", "{engine.displacement: 2.2}", "8:10",
     "unknown plant parameter 'engine.displacement'"),
    ("set: {driver.throttle_pct: 100}", "set: {driver.throttle: 100}", "14:11",
     "unknown input 'driver.throttle' (did you mean 'driver.throttle_pct'?)"),
    ("set: {driver.throttle_pct: 100}", "set: {driver.throttle_pct: full}", "14:32",
     "expected a number, got 'full'"),
    ("  - at: 3.5 s", "  - at: 2.5 s", "25:9", "step at 2.5 s is listed after a step at 3 s"),
    ("  - at: 4 s", "  - at: 7 s", "27:9", "step time 7 s is after the end of the scenario"),
    ("    timeout: 2 s\n", "", "19:5", "a wait_until step needs a timeout"),
    ("{part: turbo.wastegate, mode: stuck_closed}", "{part: turbo.wastegat, mode: stuck_closed}",
     "16:19", "unknown part 'turbo.wastegat' (did you mean 'turbo.wastegate'?)"),
    ("mode: stuck_closed}", "mode: stuck_shut}", "16:42", "unknown fault mode of turbo.wastegate"),
    ("{bus: drop, message: PlantFast,", "{bus: drpo, message: PlantFast,", "24:18",
     "unknown bus fault 'drpo' (did you mean 'drop'?)"),
    ("message: PlantFast, count: 5", "message: PlantFst, count: 5", "24:33",
     "unknown message 'PlantFst' (did you mean 'PlantFast'?)"),
    ("message: PlantFast, count: 5", "message: PlantFast, count: 0", "24:51",
     "count: expected a whole number from 1 to"),
    ("message: PlantFast, count: 5", "message: PlantFast, cuont: 5", "24:44",
     "unknown key 'cuont' in bus fault drop (did you mean 'count'?)"),
    ("{sensor: sensor.lambda, mode: stuck}", "{sensor: sensor.lambda, mode: offset}", "26:12",
     "sensor fault sensor.lambda/offset needs the key 'value'"),
    ("{sensor: sensor.lambda,", "{sensor: sensor.lamda,", "26:21",
     "unknown sensor 'sensor.lamda' (did you mean 'sensor.lambda'?)"),
    ("approve: ai_tuner", "approve: ai_tunr", "28:14", "unknown approve target 'ai_tunr'"),
    ('never: "BoostPressure > 280"', 'never: "BoostPresure > 280"', "31:13",
     "unknown signal or quantity 'BoostPresure' (did you mean 'BoostPressure'?)"),
    ('to: "FuelCut == 1 or SparkCut == 1"', 'to: "FuelCut == 1 || SparkCut == 1"', "30:63",
     "invalid syntax"),
    ("- wait_until: \"EngineMode == 'LIMP'\"", "- wait_until: \"EngineMode == 'LIPM'\"",
     "19:32", "'LIPM' is not a value of EngineMode (did you mean 'LIMP'?)"),
    ("during: [1 s, 5 s]", "during: [5 s, 1 s]", "32:55", "the window ends at 1 s, not after"),
    ("during: [1 s, 5 s]", "during: [1 s, 9 s]", "32:55", "during end 9 s is after the end"),
    ("during: [1 s, 5 s]", "during: 1 s", "32:49", "expected [start, end]"),
    ("within: 500 ms", "within: 500 mss", "33:61", "unknown time unit 'mss'"),
    ("jitter: 50 us}", "jiter: 50 us}", "34:49", "unknown key 'jiter' in period"),
    ("{task: fast,", "{task: fats,", "35:20", "unknown task 'fats' (did you mean 'fast'?)"),
    ("equals: 'LIMP'}", "equals: 'LIMB'}", "36:50", "'LIMB' is not a value of EngineMode"),
    ("  - settle:", "  - setle:", "37:5", "unknown key 'setle' in expectation "
                                          "(did you mean 'settle'?)"),
    ("band: 0.03", "band: -0.03", "37:49", "band must be greater than 0"),
    ("by: 3 s}", "by: 30 s}", "37:59", "settle by 30 s is after the end"),
    ("  - at: 0.5 s\n", "  - at: 0.5 s\n   bad: [\n", "14:4", "YAML syntax error"),
    ("  - at: 1 s\n", "  - at: 1 s\n    at: 2 s\n", "16:5", "duplicate key 'at'"),
    ("description: Wastegate stuck closed at full load; the safety layer cuts within 1 ms of "
     "the first overboost frame.", "description: TODO", "2:14", "say in a sentence"),
]


@pytest.mark.parametrize("old, new, loc, fragment", EDITS, ids=[e[1][:30] for e in EDITS])
def test_each_error_is_one_line_with_file_line_column(text, vocab, old, new, loc, fragment):
    assert old in text, old
    err = _error(text.replace(old, new, 1), vocab)
    assert str(err).startswith(f"x.yaml:{loc}: "), str(err)
    assert fragment in str(err)


@pytest.mark.parametrize("body, loc, fragment", [
    ("name: a\nduration: 1 s\n", "1:1", "scenario needs the key 'description'"),
    ("- just a list\n", "1:1", "a scenario is a mapping"),
    ("name: a b\ndescription: proves a thing here\nduration: 1 s\n", "1:7",
     "use letters, digits"),
    ("name: a\ndescription: proves a thing here\nduration: 0 s\n", "3:11",
     "duration must be longer than 0"),
    (MINIMAL + "steps:\n  - at: 1 s\n", "7:5", "a timed step needs an action"),
    (MINIMAL + "steps:\n  - set: {driver.brake_pct: 1}\n", "7:5", "exactly one of at:"),
    (MINIMAL + "steps:\n  - at: 1 s\n    timeout: 1 s\n    set: {driver.brake_pct: 1}\n",
     "8:5", "timeout: only with wait_until"),
    (MINIMAL + "  - value: {signal: Lambda, at: end}\n", "6:12", "give equals:, min: or max:"),
    (MINIMAL + "  - value: {signal: Lambda, at: end, min: 2, max: 1}\n", "6:51",
     "max 1 is below min 2"),
    (MINIMAL + "  - value: {signal: FuelCut, at: end, equals: 'ON'}\n", "6:47",
     "FuelCut has no value table"),
    (MINIMAL + "  - eventually: {condition: 'FuelCut == 1', within: 1 s, after: 1.5 s}\n",
     "6:53", "the deadline 2.5 s is after the end"),
    (MINIMAL + "  - eventually: {condition: 'FuelCut == 1', within: 1 s, each: true}\n",
     "6:58", "each: only with after: <condition>"),
    (MINIMAL + "  - latency: {from: 'FuelCut == 1', to: 'SparkCut == 1'}\n", "6:14",
     "latency needs the key 'max'"),
    (MINIMAL + "  - never: '1 > 0'\n", "6:13", "reads no signal"),
    (MINIMAL + "  - never: 'x > 0'\n    always: 'x > 0'\n", "6:5", "one per list item"),
    (MINIMAL.replace("duration: 2 s", "duration: 2 s\ntrack: monza"), "4:1",
     "track: only with mode: track"),
    (MINIMAL + "steps:\n  - at: 1 s\n    fault: {bus: bus_off}\n", "8:12",
     "bus fault bus_off needs the key 'node'"),
    (MINIMAL + "steps:\n  - at: 1 s\n    fault: {bus: corrupt, message: EcuFast, field: crcc}\n",
     "8:52", "unknown field 'crcc' (did you mean 'crc'?)"),
    (MINIMAL + "steps:\n  - at: 1 s\n    fault: {part: x, sensor: y, mode: z}\n", "8:12",
     "exactly one of part:, sensor:, bus:"),
    (MINIMAL + "steps:\n  - at: 1 s\n    clear: {bus: PlantFastt}\n", "8:18",
     "unknown message or node 'PlantFastt' (did you mean 'PlantFast'?)"),
    (MINIMAL + "steps:\n  - at: 1 s\n    ramp: {driver.brake_pct: {to: 1}}\n", "8:30",
     "ramp of driver.brake_pct needs the key 'over'"),
])
def test_schema_errors(vocab, body, loc, fragment):
    err = _error(body, vocab)
    assert str(err).startswith(f"x.yaml:{loc}: "), str(err)
    assert fragment in str(err)


def test_expression_errors_are_scenario_errors(vocab):
    with pytest.raises(ExpressionError):
        loads_scenario(MINIMAL.replace("BoostPressure", "Boost"), vocab, "x.yaml")


def test_bench_signals_are_settable_and_clear_all(vocab):
    s = loads_scenario(MINIMAL + "steps:\n  - at: 1 s\n    set: {FaultReset: 1}\n"
                       "    clear: all\n", vocab, "x.yaml")
    assert s.steps[0].set == {"FaultReset": 1.0} and s.steps[0].clear.kind == "all"


def test_missing_file_is_a_scenario_error(vocab, tmp_path):
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "nope.yaml", vocab)


def test_the_examples_in_the_docs_load():
    # docs/scenarios.md must not drift from the loader: every full YAML example loads.
    doc = (REPO / "docs" / "scenarios.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```yaml\n")[1:]]
    full = [b for b in blocks if b.startswith("name:")]
    assert len(full) == 3
    vocab = Vocabulary.from_dbc_file(REPO / "dbc" / "ntec5.dbc", tasks={"fast"})
    for i, block in enumerate(full):
        loads_scenario(block, vocab, f"docs-example-{i}.yaml")
