"""The scenario suite is part of the test gate: every scenario in scenarios/ must pass.

`hil run scenarios/` is the main job; this runs the same scenarios through the same
runner so CI catches a change that breaks one. The negative tests (tests/negative/)
prove the expectations bite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.pytest_plugin import looks_like_scenario
from hil.runner import load, run_scenario

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p for p in (REPO / "scenarios").rglob("*.yaml") if looks_like_scenario(p))


def test_the_suite_is_not_empty():
    assert len(SCENARIOS) >= 1


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_passes(path, tmp_path):
    result = run_scenario(load(path), report_dir=tmp_path, formats=(), plots=False)
    assert result.passed, result.failure_text()
