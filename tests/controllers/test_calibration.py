"""Calibration loader: validation errors are one line with file:line:col; lookups."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import CalibrationError, load_calibration, loads_calibration
from controllers.basemap import CALIBRATION_DIR, MAP_SPECS, SCALAR_SPECS

ROAD = (CALIBRATION_DIR / "road_car.yaml").read_text()
SPARK_MBT = load_calibration("road_car").maps["spark_mbt"]      # read-only in the tests


def _err(text: str) -> str:
    with pytest.raises(CalibrationError) as ei:
        loads_calibration(text, "cal.yaml")
    msg = str(ei.value)
    assert "\n" not in msg
    assert re.match(r"^cal\.yaml:\d+:\d+: ", msg), msg
    return msg


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_sets_load_and_are_complete():
    for name in ("road_car", "race_car"):
        c = load_calibration(name)
        assert set(c.maps) == set(MAP_SPECS) and set(c.scalars) == set(SCALAR_SPECS)
    assert load_calibration("race_car")["rev_limit"] > load_calibration("road_car")["rev_limit"]


@pytest.mark.parametrize("name", ["road_car", "race_car"])
def test_shipped_set_matches_its_plant(name):
    """Each calibration is for the engine of the plant set of the same name: same swept
    volume and cylinders (speed-density fuel), rev limit above the driver's upshift point
    (a lap never sits on the limiter), overspeed above the rev limit, an rpm axis covering
    the redline, and the full-load spark below the plant's knock limit at the map's boost."""
    from plants.engine import knock_limited_spark_deg
    from plants.params import load_params

    cal, plant = load_calibration(name), load_params(name)
    assert cal["displacement"] == pytest.approx(plant.engine.displacement_l)
    assert cal["cylinders"] == plant.engine.n_cyl
    assert plant.driver.upshift_rpm < cal["rev_limit"] < cal["overspeed"]
    assert cal.axes["rpm"].values[-1] >= plant.engine.redline_rpm
    boost, mbt, kls = (cal.maps[m] for m in ("boost_target", "spark_mbt", "spark_knock_limit"))
    for rpm in cal.axes["rpm"].values:
        p = boost.lookup(rpm, 100.0)
        lam = cal.maps["lambda_target"].lookup(rpm, p)
        spark = min(mbt.lookup(rpm, p), kls.lookup(rpm, p))
        plant_limit = knock_limited_spark_deg(plant.engine, rpm, p, 313.15, 363.15, lam)
        assert spark < plant_limit - 2.0, (rpm, p, spark, plant_limit)


def test_unknown_key_names_the_closest():
    text = ROAD.replace("  rev_limit_hyst:", "  rev_limit_hysteresis:")
    msg = _err(text)
    assert "unknown key 'rev_limit_hysteresis'" in msg and "did you mean 'rev_limit_hyst'" in msg
    assert msg.startswith(f"cal.yaml:{_line_of(text, 'rev_limit_hysteresis')}:3:")


def test_non_monotonic_axis():
    text = ROAD.replace("[800, 1200, 1600,", "[800, 1200, 1100,")
    msg = _err(text)
    assert "not strictly increasing" in msg
    assert msg.startswith(f"cal.yaml:{_line_of(text, '[800, 1200, 1100')}:")


def test_wrong_shape_row():
    lines = ROAD.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("      - [") )
    lines[k] = lines[k].replace("[", "[50, ", 1)
    msg = _err("\n".join(lines))
    assert "wrong shape" in msg and msg.startswith(f"cal.yaml:{k + 1}:")


def test_value_out_of_range_points_at_the_cell():
    text = ROAD.replace("      - [57.2, 57.4,", "      - [57.2, 157.4,")
    msg = _err(text)
    assert "outside range" in msg
    assert msg.startswith(f"cal.yaml:{_line_of(text, '157.4')}:16:")


def test_wrong_unit_and_missing_unit():
    assert "wrong unit 'kPa'" in _err(ROAD.replace('rev_limit: "6800 rpm"', 'rev_limit: "6800 kPa"'))
    assert "wrong unit ''" in _err(ROAD.replace('rev_limit: "6800 rpm"', "rev_limit: 6800"))
    assert "wrong unit" in _err(ROAD.replace("    unit: deg\n", "    unit: rad\n", 1))


def test_ordering_and_missing_and_syntax():
    assert "must be above" in _err(ROAD.replace('coolant_hard: "115 degC"', 'coolant_hard: "100 degC"'))
    assert "missing key 'cylinders'" in _err(ROAD.replace("  cylinders: 4\n", ""))
    assert "YAML syntax error" in _err(ROAD + "\n  bad: [unclosed\n")


def test_file_not_found_is_one_line():
    with pytest.raises(CalibrationError, match="cannot read"):
        load_calibration("/nonexistent/cal.yaml")


def test_bilinear_lookup_exact_at_breakpoints_and_clamped(cal):
    ve = cal.maps["ve"]
    assert ve.lookup(800, 20) == ve.z[0][0]
    assert ve.lookup(7000, 250) == ve.z[-1][-1]
    assert ve.lookup(100, 5) == ve.z[0][0]           # clamped below
    assert ve.lookup(99999, 999) == ve.z[-1][-1]     # clamped above
    mid = ve.lookup(1000, 30)
    expect = sum((ve.z[0][0], ve.z[0][1], ve.z[1][0], ve.z[1][1])) / 4
    assert mid == pytest.approx(expect)


@settings(deadline=None)          # no wall-clock bound: a busy machine must not fail it
@given(st.floats(0, 9000), st.floats(0, 400))
def test_lookup_within_cell_bounds(x, y):
    m = SPARK_MBT
    v = m.lookup(x, y)
    flat = [v for row in m.z for v in row]
    assert min(flat) - 1e-9 <= v <= max(flat) + 1e-9


# --------------------------------------------------------------------------- issue 12 classes
# Each class of bad calibration found by the corpus: one CalibrationError line with
# file:line:col pointing at the offending token, never another exception.

ROW0 = "      - [57.2, 57.4,"          # first row of the ve map
ROW0_LINE = _line_of(ROAD, ROW0)
SCALARS_LINE = _line_of(ROAD, "  cylinders: 4")


@pytest.mark.parametrize(("text", "line", "col", "fragment"), [
    (ROAD.replace(ROW0, "      - [.nan, 57.4,"), ROW0_LINE, 10, "expected a finite number, got nan"),
    (ROAD.replace(ROW0, "      - [.inf, 57.4,"), ROW0_LINE, 10, "expected a finite number, got inf"),
    (ROAD.replace(ROW0, "      - [-.inf, 57.4,"), ROW0_LINE, 10, "finite number, got -inf"),
    (ROAD.replace(ROW0, "      - [1e400, 57.4,"), ROW0_LINE, 10, "finite number, got inf"),
    (ROAD.replace(ROW0, "      - [abc, 57.4,"), ROW0_LINE, 10, "expected a number, got 'abc'"),
    (ROAD.replace(ROW0, "      - [[1], 57.4,"), ROW0_LINE, 10, "expected a single value, got a list"),
    (ROAD.replace("[800, 1200, 1600,", "[-.inf, 1200, 1600,"), 7, 29, "axis 'rpm': expected a finite"),
    (ROAD.replace("[800, 1200, 1600,", "[800, .nan, 1600,"), 7, 34, "axis 'rpm': expected a finite"),
    (ROAD.replace("  cylinders: 4", "  cylinders: " + "9" * 400), SCALARS_LINE, 14,
     "finite number, got 99999"),
    (ROAD.replace('rev_limit: "6800 rpm"', 'rev_limit: "1e400 rpm"'), _line_of(ROAD, "rev_limit:"),
     14, "expected a finite number, got inf"),
], ids=["nan", "inf", "-inf", "1e400", "string", "list-in-row", "axis-inf", "axis-nan",
        "400-digit-int", "scalar-1e400"])
def test_bad_numbers(text, line, col, fragment):
    msg = _err(text)
    assert msg.startswith(f"cal.yaml:{line}:{col}: ") and fragment in msg, msg
    assert len(msg) < 200                                  # a bounded excerpt of the value


def test_missing_row():
    text = ROAD.replace(ROW0 + " 57.7, 58, 58.3, 58.5, 58.7, 58.8, 58.7, 58.5, 58, 57.3]\n", "")
    assert text != ROAD
    msg = _err(text)
    assert msg.startswith(f"cal.yaml:{ROW0_LINE}:7: ") and "9 rows, expected 10" in msg


def test_ragged_rows_name_the_row():
    text = ROAD.replace(ROW0, "      - [57.4,")
    msg = _err(text)
    assert msg.startswith(f"cal.yaml:{ROW0_LINE}:9: ") and "row 0 has 11 values, expected 12" in msg


def test_rows_not_a_list():
    text = re.sub(r"    values:\n(      - \[.*\]\n)+", "    values: 5\n", ROAD, count=1)
    msg = _err(text)
    assert msg.startswith(f"cal.yaml:{ROW0_LINE - 1}:13: ") and "expected a list of rows" in msg


@pytest.mark.parametrize("where", ["scalars", "top", "axis", "map"])
def test_duplicate_keys_point_at_the_second_one(where):
    if where == "scalars":
        text = ROAD.replace("  cylinders: 4\n", "  cylinders: 4\n  cylinders: 6\n")
        line = SCALARS_LINE + 1
    elif where == "top":
        text = ROAD.replace("description:", "name: again\ndescription:")
        line = _line_of(ROAD, "description:")
    elif where == "axis":
        text = ROAD.replace("  load: {unit: kPa,", "  load: {unit: kPa, unit: kPa,")
        line = _line_of(ROAD, "  load: {unit: kPa,")
    else:
        text = ROAD.replace("    x: rpm\n", "    x: rpm\n    x: rpm\n", 1)
        line = _line_of(ROAD, "    x: rpm") + 1
    msg = _err(text)
    assert msg.startswith(f"cal.yaml:{line}:") and "duplicate key" in msg and "first at line" in msg


@pytest.mark.parametrize(("text", "line", "fragment"), [
    (ROAD + "\n  bad: [unclosed\n", 202, "YAML syntax error"),
    (ROAD.replace("  cylinders: 4", "\tcylinders: 4"), SCALARS_LINE, "YAML syntax error"),
    (ROAD.replace("  load: {unit: kPa,", "  load: {unit: kPa"), None, "YAML syntax error"),
    (ROAD + "---\nname: second\n", None, "YAML syntax error"),
    ("a: *undefined\n", 1, "YAML syntax error"),
    (ROAD.replace("  cylinders: 4", "  cylinders: 4\x00"), SCALARS_LINE, "U+0000 is not allowed"),
    ("", 1, "empty calibration file"),
    ("# only a comment\n", 1, "empty calibration file"),
    ("- 1\n", 1, "calibration: expected a mapping"),
    ("a: " + "[" * 10_000 + "]" * 10_000 + "\n", 1, "nested deeper than 32 levels"),
], ids=["unclosed", "tab", "flow", "two-documents", "undefined-alias", "nul", "empty",
        "comment-only", "list", "deep"])
def test_yaml_syntax_and_structure(text, line, fragment):
    msg = _err(text)
    assert fragment in msg, msg
    if line is not None:
        assert msg.startswith(f"cal.yaml:{line}:"), msg


@pytest.mark.parametrize(("old", "new", "tag"), [
    ('  rev_limit: "6800 rpm"', '  rev_limit: !!python/object/apply:os.system ["echo pwned"]',
     "!!python/object/apply:os.system"),
    ("name: road_car", "name: !!python/name:os.system", "!!python/name:os.system"),
    ("  cylinders: 4", "  cylinders: !!python/object:builtins.int 4", "!!python/object:builtins.int"),
    ("  cylinders: 4", "  cylinders: !custom 4", "!custom"),
    ("  cylinders: 4", "  cylinders: !!python/tuple [4]", "!!python/tuple"),
], ids=["apply", "name", "object", "custom", "tuple"])
def test_yaml_tags_are_refused_not_run(old, new, tag, tmp_path):
    marker = tmp_path / "ran"
    text = ROAD.replace(old, new.replace("echo pwned", f"touch {marker}"))
    msg = _err(text)
    assert f"YAML tag '{tag}' is not allowed" in msg
    assert msg.startswith(f"cal.yaml:{_line_of(text, tag)}:")
    assert not marker.exists()


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ("scalars:\n", "scalars:\n  <<: {cylinders: 4}\n", "merge keys (<<) are not supported"),
    ("  cylinders: 4", "  [a]: 4", "scalars key: expected a single value, got a list"),
    ("  cylinders: 4", "  7: 4", "expected a name as key, got 7"),
    ("name: road_car", "name: {a: 1}", "name: expected a single value, got a mapping"),
    ("description: road car", "description: 12 #", "description: expected a string"),
    ("    x: rpm", "    x: [rpm]", "map 've' x: expected a single value, got a list"),
    ("rpm: {unit: rpm,", "rpm: {unit: 5,", "axis 'rpm' unit: expected a string, got 5"),
    ("scalars:\n", "scalerz:\n", "unknown key 'scalerz' (did you mean 'scalars'?)"),
    ("  spark_mbt:\n", "  spark_mbtt:\n", "unknown key 'spark_mbtt' (did you mean 'spark_mbt'?)"),
    ("    x: rpm", "    x: rpmm", "unknown axis 'rpmm' (did you mean 'rpm'?)"),
    ("rpm: {unit: rpm, values:", "rpm: {unit: rpm, valuez:",
     "unknown key 'valuez' (did you mean 'values'?)"),
], ids=["merge-key", "list-key", "int-key", "name-mapping", "description-number", "axis-list",
        "unit-number", "unknown-top", "unknown-map", "unknown-axis", "unknown-axis-field"])
def test_wrong_types_and_unknown_names(old, new, fragment):
    text = ROAD.replace(old, new, 1)
    msg = _err(text)
    assert fragment in msg, msg
    assert msg.startswith(f"cal.yaml:{_line_of(text, new.strip().splitlines()[-1])}:"), msg


def test_file_level_errors_have_a_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(ROAD.encode() + b"# caf\xe9\n")
    with pytest.raises(CalibrationError) as ei:
        load_calibration(bad)
    assert str(ei.value) == f"{bad}:{ROAD.count(chr(10)) + 1}:6: not UTF-8 (byte 0xe9)"
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (4 * 1024 * 1024 + 1))
    with pytest.raises(CalibrationError, match=r"big\.yaml:1:1: calibration file too large"):
        load_calibration(big)


def test_unknown_set_name_suggests_the_shipped_one():
    with pytest.raises(CalibrationError, match=r"unknown calibration set 'road_carr' "
                       r"\(did you mean 'road_car'\?\)"):
        load_calibration("road_carr")


def test_the_loader_is_registered_as_an_entry_point():
    """Configuration names a calibration loader by entry point (group
    ntec_hil.calibration_loaders), never as an importable path (issue 12)."""
    from importlib.metadata import entry_points

    eps = {ep.name: ep for ep in entry_points(group="ntec_hil.calibration_loaders")}
    assert eps["ntec"].load() is load_calibration
