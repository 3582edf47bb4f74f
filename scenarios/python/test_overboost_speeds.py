"""A scenario in Python: what YAML cannot say, here a loop over engine speeds.

The overboost reaction must hold at every full-load speed the wastegate can fail at,
not only at the one a YAML file names. Steps and expectations are written as in YAML
and judged by the same engine (docs/scenarios.md, "Scenarios in Python").
"""

import pytest


@pytest.mark.parametrize("rpm", [4500, 5500])
def test_overboost_cut_within_1ms_at_every_speed(hil, rpm):
    bench = hil.bench(mode="dyno", initial={"dyno.speed_rpm": rpm, "engine.coolant_temp_c": 90})
    bench.run_for(0.5)
    hil.step(bench, {"set": {"driver.throttle_pct": 100},
                     "fault": {"part": "turbo.wastegate", "mode": "stuck_closed"}})
    bench.run_for(5.0)
    hil.expect(bench,
               {"latency": {"from": "BoostPressure > 250", "to": "FuelCut == 1 or SparkCut == 1",
                            "max": "1 ms"}},
               "never: turbo.boost_pressure_kpa > 300", "never: turbo.overspeed > 0")
