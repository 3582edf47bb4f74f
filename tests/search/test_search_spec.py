"""Search specs: what the loader accepts, and one-line errors for what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.cli import main
from hil.search.engine import Candidate, PlacedFault, load_search_spec, scenario_text
from hil.search.spec import Range, SpecError

REPO = Path(__file__).resolve().parents[2]
SPECS = sorted((REPO / "scenarios" / "search").glob("*.yaml"))

GOOD = """\
name: probe
description: A small spec for the loader tests.
scenario:
  name: probe_base
  description: Full load on the dyno for a second.
  duration: 1 s
  mode: dyno
  initial: {dyno.speed_rpm: 4000, driver.throttle_pct: 100}
operating_point:
  dyno.speed_rpm: {range: [4000, 3000], step: 500}
faults:
  max: 2
  at: [100 ms, 900 ms]
  duration: [10 ms, 500 ms]
  kinds:
    - {bus: drop, message: PlantFast, count: [1, 5]}
    - {sensor: sensor.lambda, mode: offset, value: [-0.1, -0.3]}
properties:
  - never: "EngineMode == 'SHUTDOWN'"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_the_searched_suite_has_three_specs_that_load():
    assert len(SPECS) >= 3
    for path in SPECS:
        spec = load_search_spec(path)
        assert spec.fault_kinds and spec.properties


def test_ranges_shrink_towards_their_first_value():
    assert Range(4000, 3000, 500, True).values() == [4000, 3500, 3000]
    assert Range(0.9, 0.5, 0.2).values() == [0.9, 0.7, 0.5]
    assert Range(1, 10, 4, True).values() == [1, 5, 9, 10]   # the far end is always there


def test_a_candidate_is_an_ordinary_scenario_with_its_faults_in_time_order(tmp_path):
    spec = load_search_spec(write(tmp_path, GOOD))
    cand = Candidate((("dyno.speed_rpm", 3500),), None, (),
                     (PlacedFault(1, 400_000_000, 50_000_000, (("value", -0.2),)),
                      PlacedFault(0, 200_000_000, 0, (("count", 3),))))
    text = scenario_text(spec, cand, rig_ref=None)
    assert "dyno.speed_rpm: 3500" in text
    assert text.index("at: 200 ms") < text.index("at: 400 ms")
    assert "count: 3" in text and "duration: 50 ms" in text and "value: -0.2" in text
    # the counted drop has no duration: count and duration exclude each other
    assert text.count("duration:") == 2  # the scenario's own duration and the offset's


@pytest.mark.parametrize("edit, line, fragment", [
    (("message: PlantFast", "message: PlantFst"), 16, "unknown message 'PlantFst'"),
    (("mode: offset", "mode: ofset"), 17, "unknown sensor fault mode 'ofset'"),
    (("dyno.speed_rpm: {range", "dyno.sped_rpm: {range"), 10, "unknown initial condition"),
    (("max: 2", "max: 0"), 12, "faults max"),
    (("at: [100 ms, 900 ms]", "at: [100 ms, 2 s]"), 13, "window ends after"),
    (("never: \"EngineMode == 'SHUTDOWN'\"", "never: \"EngineMod == 1\""), 19,
     "does not load"),
])
def test_spec_mistakes_are_one_line_with_their_position(tmp_path, edit, line, fragment):
    path = write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(SpecError) as exc:
        load_search_spec(path)
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}:"), text
    assert fragment in text, text


def test_hil_search_refuses_bad_input_with_exit_2(tmp_path, capsys):
    assert main(["search", str(tmp_path / "missing.yaml")]) == 2
    assert "no such spec file" in capsys.readouterr().err
    bad = write(tmp_path, GOOD.replace("max: 2", "max: 9"))
    assert main(["search", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}:12:" in err
    assert main(["search", str(SPECS[0]), "--max-examples", "0"]) == 2
    assert main(["search", str(SPECS[0]), "-n", "0"]) == 2
    assert "-n must be at least 1" in capsys.readouterr().err
