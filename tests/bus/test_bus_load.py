"""The ntec5 traffic of the closed loop stays under the 50 % bus-load budget (docs/dbc.md)."""

from __future__ import annotations

from hil.bench.sil import SilBench


def test_closed_loop_bus_load_under_budget():
    bench = SilBench.from_rig(None, trace=False)
    bench.plant.set_driver_mode("dyno")
    bench.plant.inputs["dyno.speed_rpm"] = 3000.0
    bench.plant.inputs["driver.throttle_pct"] = 60.0
    bench.run_for(1.0)
    report = bench.network.report(window_ns=10_000_000)
    bench.close()
    # Every 10 ms window, not only the mean: the 100 ms messages are spread over the cycle.
    assert report["load_max"] < 0.50, report
    assert 0.40 < report["load_mean"] < 0.50, report
    assert report["error_frames"] == 0
