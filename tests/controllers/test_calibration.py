"""Calibration loader: validation errors are one line with file:line:col; lookups."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers import CalibrationError, load_calibration, loads_calibration
from controllers.basemap import CALIBRATION_DIR, MAP_SPECS, SCALAR_SPECS

ROAD = (CALIBRATION_DIR / "road_car.yaml").read_text()


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


@given(st.floats(0, 9000), st.floats(0, 400))
def test_lookup_within_cell_bounds(x, y):
    c = load_calibration("road_car")
    m = c.maps["spark_mbt"]
    v = m.lookup(x, y)
    flat = [v for row in m.z for v in row]
    assert min(flat) - 1e-9 <= v <= max(flat) + 1e-9
