"""The `hil` fixture: Python scenarios with YAML-style steps and expectations."""

from __future__ import annotations

import pytest

from hil.errors import ScenarioError
from hil.run.pyscenario import ExpectationFailed

pytest_plugins = ["pytester"]


def test_python_scenario_passes_and_fails_like_yaml(hil):
    bench = hil.bench(mode="dyno", initial={"dyno.speed_rpm": 3000})
    hil.step(bench, {"set": {"driver.throttle_pct": 30}})
    bench.run_for(2.0)
    verdicts = hil.expect(bench, "never: EngineSpeed > 5000",
                          {"value": {"signal": "EngineMode", "at": "end", "equals": "NORMAL"}})
    assert all(v.passed for v in verdicts)
    with pytest.raises(ExpectationFailed) as exc:
        hil.expect(bench, "always: EngineSpeed > 4000")
    assert "FAIL always" in str(exc.value) and "EngineSpeed" in str(exc.value)


def test_python_scenario_errors_name_the_mistake(hil):
    bench = hil.bench(mode="dyno")
    with pytest.raises(ScenarioError, match="did you mean 'BoostPressure'"):
        hil.expect(bench, "never: BoostPresure > 270")
    with pytest.raises(ScenarioError):
        hil.step(bench, {"fault": {"part": "turbo.wastegat", "mode": "stuck_closed"}})
