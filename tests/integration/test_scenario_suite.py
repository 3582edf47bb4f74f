"""The scenario suite is part of the test gate: every scenario in scenarios/ must pass.

`hil run scenarios/` is the main job; this runs the same scenarios through the same
runner so CI catches a change that breaks one. The negative tests (tests/integration/negative/)
prove the expectations bite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.run.pytest_plugin import looks_like_scenario
from hil.run.runner import load, run_scenario

REPO = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]

SCENARIOS = sorted(p for p in (REPO / "scenarios").rglob("*.yaml") if looks_like_scenario(p))


def test_the_suite_is_not_empty():
    assert len(SCENARIOS) >= 1


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_passes(path, tmp_path):
    result = run_scenario(load(path), report_dir=tmp_path, formats=(), plots=False)
    assert result.passed, result.failure_text()


def test_scenarios_are_collected_longest_first_other_tests_keep_their_place(pytester):
    # -n 2 must not leave one worker alone with the longest scenario at the end; the
    # order is a pure function of the files (stable for equal durations).
    pytester.makepyfile(test_between="def test_plain():\n    pass\n")
    args = ["--collect-only", "-q", "-p", "no:cacheprovider",
            str(REPO / "scenarios" / "safety" / "crc_error_limp.yaml"),
            "test_between.py",
            str(REPO / "scenarios" / "safety" / "message_loss_limp.yaml"),
            str(REPO / "scenarios" / "vehicle" / "full_throttle_pull.yaml")]
    lines = [ln for ln in pytester.runpytest(*args).outlines if "::" in ln]
    names = [ln.split("::")[-1] for ln in lines]
    assert names[1] == "test_plain"
    durations = {s.name: s.duration_ns for s in map(load, SCENARIOS)}
    scenario_names = [n for n in names if n != "test_plain"]
    assert [durations[n] for n in scenario_names] == sorted(
        (durations[n] for n in scenario_names), reverse=True)
    # crc_error_limp and message_loss_limp are both 4 s: collection order kept
    assert scenario_names.index("crc_error_limp") < scenario_names.index("message_loss_limp")
