"""``hil run`` chooses the plant's kernels from the simulated time it will run in its own
process (plants/_jit.py plan): the cheap scan of each file's ``duration:``."""

from __future__ import annotations

from pathlib import Path

from hil.cli.run import simulated_seconds

ROOT = Path(__file__).resolve().parents[2]


def test_the_scan_sums_each_files_duration(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("name: a\nduration: 3 s   # short\nsteps: []\n")
    b = tmp_path / "b.yaml"
    b.write_text("name: b\nsteps:\n  - at: 1 s\n    set: {x: 1}\nduration: '250 ms'\n")
    assert simulated_seconds([a, b]) == 3.25


def test_a_file_that_does_not_say_makes_the_total_unknown(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("name: a\nduration: 3 s\n")
    nested = tmp_path / "n.yaml"
    nested.write_text("name: n\nsteps:\n  - duration: 3 s\n")   # not a top-level key
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nduration: soon\n")
    py = tmp_path / "p.py"
    py.write_text("duration: 3 s\n")
    for other in (nested, bad, py, tmp_path / "missing.yaml"):
        assert simulated_seconds([a, other]) is None


def test_the_project_scenarios_all_say_their_duration():
    lap = ROOT / "scenarios" / "vehicle" / "race_car_lap.yaml"
    short = ROOT / "scenarios" / "timing" / "fast_message_period.yaml"
    assert simulated_seconds([lap]) == 48.0
    assert simulated_seconds([short]) == 3.0
