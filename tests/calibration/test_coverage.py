"""Operating-point coverage on the maps' own breakpoints (hil.calibration.coverage)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.basemap import Axis, Map2D, load_calibration
from hil.calibration.coverage import (
    MapCoverage,
    ScalarReads,
    aggregate,
    cover,
    expectation_window,
    index_path,
    load_index,
    locate,
    lookups,
    update_index,
)
from hil.cli import main

AXIS = [800.0, 1200.0, 2000.0, 3000.0, 5000.0, 7000.0]


@settings(deadline=None)
@given(st.lists(st.floats(-1e4, 2e4, allow_nan=False), min_size=1, max_size=50))
def test_locate_is_the_controllers_lookup(xs):
    ax = Axis("rpm", "rpm", AXIS)
    i, f = locate(AXIS, np.asarray(xs))
    for x, ii, ff in zip(xs, i, f, strict=True):
        assert (int(ii), float(ff)) == ax.locate(x)
        assert int(ii) + (ff >= 0.5) == ax.nearest(x)


class _Series(SimpleNamespace):
    pass


class _Trace:
    """A test double holding two signals, as the trace returns them."""

    def __init__(self, t_ns, x, y):
        self._s = {"EngineSpeed": _Series(t_ns=np.asarray(t_ns), values=np.asarray(x, float)),
                   "ManifoldPressure": _Series(t_ns=np.asarray(t_ns),
                                               values=np.asarray(y, float))}

    def signal(self, name):
        return self._s[name]

    def has(self, name):
        return name in self._s


def _map():
    x = Axis("rpm", "rpm", [1000.0, 2000.0, 3000.0])
    y = Axis("load", "kPa", [50.0, 100.0])
    return Map2D("ve", "%", x, y, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def test_samples_time_and_touched_cells():
    # 4 ms at 1000 rpm / 50 kPa (a breakpoint: only that cell enters the arithmetic),
    # then 6 ms at 2400 rpm / 80 kPa (nearest (1, 1); four cells interpolated).
    t = np.arange(10) * 1_000_000
    x = [1000.0] * 4 + [2400.0] * 6
    y = [50.0] * 4 + [80.0] * 6
    inputs = ("EngineSpeed", "ManifoldPressure")
    pts = lookups(_Trace(t, x, y), inputs, end_ns=10_000_000)
    c = cover(_map(), pts, inputs)
    assert c.samples.tolist() == [[4, 0, 0], [0, 6, 0]]
    assert np.allclose(c.time_s, [[0.004, 0, 0], [0, 0.006, 0]])
    assert c.touched.astype(int).tolist() == [[1, 1, 1], [0, 1, 1]]
    assert c.visited(0.005).astype(int).tolist() == [[0, 0, 0], [0, 1, 0]]
    # A window sees only the lookups holding inside it (the one held at its start counts).
    w = cover(_map(), pts, inputs, window_ns=(2_500_000, 3_000_000))
    assert w.samples.tolist() == [[2, 0, 0], [0, 0, 0]]


def test_an_untouched_cell_cannot_change_a_lookup():
    """What the diff selection relies on: change a cell the lookups did not touch and every
    interpolated value stays bit-identical."""
    rng = np.random.default_rng(1)
    m = _map()
    xs, ys = rng.uniform(900, 1900, 200), rng.uniform(40, 90, 200)
    inputs = ("EngineSpeed", "ManifoldPressure")
    c = cover(m, lookups(_Trace(np.arange(200), xs, ys), inputs, 200), inputs)
    before = [m.lookup(a, b) for a, b in zip(xs, ys, strict=True)]
    untouched = np.argwhere(~c.touched)
    assert len(untouched)
    for j, i in untouched:
        m.z[j][i] += 7.5
    assert [m.lookup(a, b) for a, b in zip(xs, ys, strict=True)] == before


def test_scalar_reads_are_recorded():
    s = ScalarReads({"a": 1.0, "b": 2.0})
    assert s["a"] == 1.0 and s.get("c") is None and dict(s) == {"a": 1.0, "b": 2.0}
    assert s.reads == {"a", "c"}


def test_expectation_windows():
    dur = 10_000_000_000
    assert expectation_window(SimpleNamespace(kind="never", during=(1, None)), dur) == (1, dur)
    assert expectation_window(SimpleNamespace(kind="settle", by_ns=5, until_ns=None), dur) \
        == (5, dur)
    assert expectation_window(SimpleNamespace(kind="value", at_ns=None), dur) == (dur, dur)
    assert expectation_window(SimpleNamespace(kind="eventually", after=2, within_ns=3), dur) \
        == (2, 5)
    assert expectation_window(SimpleNamespace(kind="budget"), dur) == (0, dur)


def _record(name, cal, cells):
    m = MapCoverage("ve", "rpm", "rpm", [1.0, 2.0], "load", "kPa", [1.0, 2.0],
                    ("EngineSpeed", "ManifoldPressure"), np.zeros((2, 2)),
                    np.zeros((2, 2), dtype=np.int64), np.zeros((2, 2), dtype=bool))
    for i, j, s in cells:
        m.time_s[j, i] = s
        m.samples[j, i] = int(s * 1000)
        m.touched[j, i] = True
    return {"format": "hil-coverage/1", "scenario": name, "calibration": {"name": cal},
            "maps": {"ve": m.to_json()}}


def test_index_keeps_the_newest_record_per_scenario(tmp_path):
    update_index(tmp_path, [_record("a", "road", [(0, 0, 1.0)]), _record("b", "road",
                                                                         [(1, 1, 2.0)])])
    update_index(tmp_path, [_record("a", "road", [(1, 0, 0.5)])])
    idx = load_index(tmp_path)
    assert sorted(idx["calibrations"]["road"]["scenarios"]) == ["a", "b"]
    per = aggregate(idx["calibrations"]["road"]["scenarios"].values())
    assert per["road"]["ve"].visited().astype(int).tolist() == [[0, 1], [0, 1]]


def test_bad_index_is_one_line(tmp_path, capsys):
    index_path(tmp_path).parent.mkdir(parents=True)
    index_path(tmp_path).write_text("{not json")
    assert main(["coverage", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{index_path(tmp_path)}:1:1:" in err[0]


def test_no_index_yet_is_exit_2(tmp_path, capsys):
    assert main(["coverage", str(tmp_path)]) == 2
    assert "no coverage recorded yet" in capsys.readouterr().err


SCENARIO = """\
name: cov_probe
description: Two dyno points, to check the cells the coverage records.
duration: 2 s
plant: road_car
calibration: road_car
mode: dyno
initial: {dyno.speed_rpm: 2000, driver.throttle_pct: 17, engine.coolant_temp_c: 90}
steps:
  - at: 1 s
    set: {dyno.speed_rpm: 3000, driver.throttle_pct: 21}
expect:
  - never: "EngineMode == 'SHUTDOWN'"
  - value: {signal: EngineSpeed, at: 0.9 s, min: 1900, max: 2100}
"""


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory):
    from hil.run.runner import load, run_scenario

    d = tmp_path_factory.mktemp("cov") / "scenarios"
    d.mkdir()
    (d / "cov_probe.yaml").write_text(SCENARIO)
    scenario = load(d / "cov_probe.yaml")
    result = run_scenario(scenario, report_dir=d.parent / "reports", formats=(), plots=False)
    return result, json.loads((d.parent / "reports" / "cov_probe" / "coverage.json").read_text())


def test_a_run_records_the_cells_its_lookups_visited(probe_run):
    result, rec = probe_run
    assert result.passed, result.failure_text()
    assert result.artifacts["coverage"].endswith("coverage.json")
    cal = load_calibration("road_car")
    ve = MapCoverage.from_json("ve", rec["maps"]["ve"])
    assert ve.x == cal.maps["ve"].x.values and ve.inputs == ("EngineSpeed", "ManifoldPressure")
    # 1 ms lookups for 2 s of simulated time.
    assert abs(ve.time_s.sum() - 2.0) < 0.01 and 1900 < ve.samples.sum() <= 2001
    per_rpm = dict(zip(ve.x, ve.time_s.sum(axis=0), strict=True))
    assert per_rpm[2000.0] > 0.7 and per_rpm[3000.0] > 0.7, per_rpm
    assert "rev_limit" in rec["scalars_read"] and "ve" in rec["maps"]
    assert set(rec["maps"]) == set(cal.maps)
    # The value expectation at 0.9 s sees the 2000 rpm point only.
    value = rec["expectations"][1]
    assert value["kind"] == "value" and value["window_s"] == [0.9, 0.9]
    assert {ve.x[i] for i, _j, _t in value["cells"]["ve"]} == {2000.0}


def test_hil_coverage_prints_and_draws(probe_run, tmp_path, capsys):
    from hil.calibration.report import after_run

    result, _rec = probe_run
    section = after_run([result.summary()], tmp_path)
    assert "Calibration map coverage" in section and "data:image/png;base64" in section
    assert main(["coverage", str(tmp_path), "--map", "ve"]) == 0
    out = capsys.readouterr().out
    assert "road_car     ve" in out and "seconds per cell" in out
    assert (tmp_path / "coverage" / "road_car" / "ve.png").stat().st_size > 1000
    assert "Calibration map coverage" in (tmp_path / "summary.html").read_text()
    assert main(["coverage", str(tmp_path), "--map", "vee"]) == 2
    assert "unknown map 'vee'" in capsys.readouterr().err
