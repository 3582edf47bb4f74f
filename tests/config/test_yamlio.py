"""hil.config.yamlio: YAML that remembers file:line:col of every node; unknown keys refused."""

from __future__ import annotations

import pytest

from hil.config.yamlio import (
    LocDict,
    LocList,
    check_keys,
    closest,
    error_at,
    load_yaml,
    loads_yaml,
)
from hil.errors import ConfigError, HilError, ScenarioError

RIG = """\
name: sil
bus:
  interface: sim
  bitrate: 500000
signal_map:
  publish:
    EngineSpeed: sensor.engine_speed_rpm
    Lambda: {quantity: sensor.lambda, scale: 1.0}
tasks:
  - name: fast
    controllers:
      - {name: safety_fast, class: "controllers.safety:SafetyFast"}
      - name: basemap
  - name: t10ms
"""


def test_mappings_and_sequences_carry_their_positions():
    doc = loads_yaml(RIG, "rig.yaml")
    assert isinstance(doc, LocDict) and isinstance(doc, dict)
    assert doc.loc == ("rig.yaml", 1, 1)
    assert doc.key_loc("bus") == ("rig.yaml", 2, 1)
    assert doc["bus"].loc == ("rig.yaml", 3, 3)
    assert doc["bus"].value_loc("bitrate") == ("rig.yaml", 4, 12)
    assert doc["bus"]["bitrate"] == 500000


def test_positions_of_deeply_nested_nodes():
    doc = loads_yaml(RIG, "rig.yaml")
    publish = doc["signal_map"]["publish"]
    assert publish.key_loc("EngineSpeed") == ("rig.yaml", 7, 5)
    assert publish.value_loc("EngineSpeed") == ("rig.yaml", 7, 18)
    flow = publish["Lambda"]
    assert isinstance(flow, LocDict)
    assert flow.loc == ("rig.yaml", 8, 13)                  # a flow mapping: at its "{"
    assert flow.key_loc("scale") == ("rig.yaml", 8, 39)
    tasks = doc["tasks"]
    assert isinstance(tasks, LocList) and isinstance(tasks, list)
    assert tasks.loc == ("rig.yaml", 10, 3)
    assert tasks.item_locs == [("rig.yaml", 10, 5), ("rig.yaml", 14, 5)]
    controllers = tasks[0]["controllers"]
    assert controllers.item_loc(1) == ("rig.yaml", 13, 9)
    assert controllers[1].key_loc("name") == ("rig.yaml", 13, 9)
    assert controllers[0].value_loc("class") == ("rig.yaml", 12, 36)


def test_missing_positions_fall_back_to_the_enclosing_node():
    doc = loads_yaml("a: {b: 1}\nlist: [x]\n", "f.yaml")
    inner = doc["a"]
    assert inner.key_loc("nope") == inner.loc == ("f.yaml", 1, 4)
    assert inner.value_loc("nope") == inner.loc
    assert doc["list"].item_loc(5) == doc["list"].loc == ("f.yaml", 2, 7)
    assert doc["list"].item_loc(-1) == doc["list"].loc


def test_scalars_are_plain_python_values():
    doc = loads_yaml("i: 3\nf: 2.5\ns: '1 ms'\nb: true\nn: null\n")
    assert doc == {"i": 3, "f": 2.5, "s": "1 ms", "b": True, "n": None}
    assert loads_yaml("just text") == "just text"
    assert loads_yaml("") is None


def test_merge_keys_are_flattened():
    doc = loads_yaml("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  z: 3\n", "m.yaml")
    assert doc["derived"] == {"x": 1, "y": 2, "z": 3}


def test_load_yaml_names_the_file(tmp_path):
    path = tmp_path / "ecu.yaml"
    path.write_text("tasks:\n  - name: fast\n", encoding="utf-8")
    doc = load_yaml(path)
    assert doc["tasks"][0].loc == (str(path), 2, 5)


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    assert err.value.file == str(path) and err.value.line is None
    assert str(err.value).startswith(f"{path}: ")
    assert "\n" not in str(err.value)


def test_an_unreadable_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_yaml(tmp_path)                       # a directory
    assert err.value.file == str(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: ") and "cannot read" in str(err.value)


def test_duplicate_key_points_at_the_second_occurrence():
    with pytest.raises(ConfigError) as err:
        loads_yaml("name: a\nduration: 1 s\nname: b\n", "s.yaml")
    assert str(err.value) == "s.yaml:3:1: duplicate key 'name'"


def test_duplicate_key_in_a_nested_mapping():
    text = "bus:\n  interface: sim\n  bitrate: 1\n  bitrate: 2\n"
    with pytest.raises(ConfigError) as err:
        loads_yaml(text, "rig.yaml")
    assert (err.value.file, err.value.line, err.value.column) == ("rig.yaml", 4, 3)
    assert "duplicate key 'bitrate'" in str(err.value)


def test_duplicate_key_in_a_flow_mapping_inside_a_list():
    with pytest.raises(ConfigError) as err:
        loads_yaml("steps:\n  - {at: 1 s, at: 2 s}\n", "s.yaml")
    assert str(err.value) == "s.yaml:2:15: duplicate key 'at'"


def test_the_same_key_in_sibling_mappings_is_fine():
    doc = loads_yaml("- {at: 1 s}\n- {at: 2 s}\n")
    assert [d["at"] for d in doc] == ["1 s", "2 s"]


def test_a_key_that_is_not_a_plain_value():
    with pytest.raises(ConfigError) as err:
        loads_yaml("? [a, b]\n: 1\n", "k.yaml")
    assert str(err.value) == "k.yaml:1:3: mapping key is not a plain value"


@pytest.mark.parametrize(("text", "line", "column"), [
    ("a: [1, 2\n", 2, 1),
    ("a: 1\n b: 2\n", 2, 3),
    ("key: 'open\n", 2, 1),
])
def test_syntax_errors_are_one_line_with_position(text, line, column):
    with pytest.raises(ConfigError) as err:
        loads_yaml(text, "bad.yaml")
    assert (err.value.file, err.value.line, err.value.column) == ("bad.yaml", line, column)
    assert str(err.value).startswith(f"bad.yaml:{line}:{column}: YAML syntax error: ")
    assert "\n" not in str(err.value)


def test_configuration_never_constructs_python_objects():
    with pytest.raises(ConfigError) as err:
        loads_yaml("ok: 1\nx: !!python/object/apply:os.system ['true']\n", "evil.yaml")
    assert (err.value.file, err.value.line) == ("evil.yaml", 2)
    assert "python/object/apply:os.system" in str(err.value)


def test_closest_suggests_only_what_is_close():
    assert closest("tgas", ["tags", "steps", "expect"]) == " (did you mean 'tags'?)"
    assert closest("BoostPresure", ["BoostPressure", "Lambda"]) == (
        " (did you mean 'BoostPressure'?)")
    assert closest("zzz", ["tags", "steps"]) == ""
    assert closest("x", []) == ""


def test_unknown_key_names_the_closest_and_points_at_the_key():
    raw = loads_yaml("bus:\n  interface: sim\n  bitrat: 500000\n", "rig.yaml")
    with pytest.raises(ConfigError) as err:
        check_keys(raw["bus"], ["interface", "channel", "bitrate"], what="bus")
    assert str(err.value) == "rig.yaml:3:3: unknown key 'bitrat' in bus (did you mean 'bitrate'?)"


def test_unknown_key_without_a_close_name():
    raw = loads_yaml("name: x\ncolour: red\n", "rig.yaml")
    with pytest.raises(ConfigError) as err:
        check_keys(raw, ["name", "clock"], what="rig")
    assert str(err.value) == "rig.yaml:2:1: unknown key 'colour' in rig"


def test_missing_required_key_points_at_the_mapping():
    raw = loads_yaml("tasks:\n  - period: 1 ms\n", "ecu.yaml")
    with pytest.raises(ConfigError) as err:
        check_keys(raw["tasks"][0], ["name", "period"], what="task", required=["name"])
    assert str(err.value) == "ecu.yaml:2:5: task needs the key 'name'"


def test_a_list_where_a_mapping_belongs():
    raw = loads_yaml("bus: [sim]\n", "rig.yaml")
    with pytest.raises(ConfigError) as err:
        check_keys(raw["bus"], ["interface"], what="bus")
    assert str(err.value) == "rig.yaml:1:6: bus: expected a mapping, got LocList"


def test_check_keys_accepts_known_keys_and_plain_dicts():
    check_keys(loads_yaml("a: 1\nb: 2\n"), ["a", "b", "c"], what="x", required=["a"])
    with pytest.raises(ConfigError) as err:
        check_keys({"a": 1, "bee": 2}, ["a", "be"], what="x")
    assert str(err.value) == "unknown key 'bee' in x (did you mean 'be'?)"


def test_check_keys_raises_the_callers_error_class():
    raw = loads_yaml("tgas: [x]\n", "s.yaml")
    with pytest.raises(ScenarioError) as err:
        check_keys(raw, ["tags"], what="scenario", cls=ScenarioError)
    assert str(err.value) == "s.yaml:1:1: unknown key 'tgas' in scenario (did you mean 'tags'?)"


def test_error_at_with_and_without_a_position():
    assert str(error_at(("f.yaml", 3, 7), "bad")) == "f.yaml:3:7: bad"
    bare = error_at(None, "bad", ScenarioError)
    assert isinstance(bare, ScenarioError) and isinstance(bare, HilError)
    assert str(bare) == "bad"
