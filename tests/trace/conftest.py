"""Fixtures of the trace tests: the ntec5 DBC and a small filled trace."""

from __future__ import annotations

from pathlib import Path

import cantools
import pytest

DBC = Path(__file__).resolve().parents[2] / "dbc" / "ntec5.dbc"
QUANTITIES = ("engine.speed_rpm", "sensor.boost_pressure_kpa", "exhaust.egt_c", "aero.drs_open")


@pytest.fixture(scope="session")
def db():
    return cantools.database.load_file(str(DBC), database_format="dbc")


def fill(trace, db, steps: int = 300) -> None:
    """A deterministic little run: PlantFast and EcuFast each ms, EcuStatus every 10 ms,
    one plant sample per ms, two events."""
    pf = db.get_message_by_name("PlantFast")
    ef = db.get_message_by_name("EcuFast")
    es = db.get_message_by_name("EcuStatus")
    trace.add_event(0, "step", "start")
    for k in range(steps):
        t = k * 1_000_000
        trace.add_frame(t + 250_000, t, pf.frame_id, pf.encode({
            "PlantFast_CRC": k % 256, "PlantFast_Counter": k % 15, "EngineSpeed": 1000 + k,
            "ManifoldPressure": 100.0, "BoostPressure": 120 + (k % 50) * 0.5,
            "Lambda": 1.0, "KnockIntensity": 0.4}), 0)
        trace.add_frame(t + 500_000, t + 300_000, ef.frame_id, ef.encode({
            "EcuFast_CRC": 0, "EcuFast_Counter": k % 15, "FuelCut": int(k > 200),
            "SparkCut": 0, "FuelMass": 20.5, "SparkAdvance": -10.0, "WastegateCmd": 30}), 1)
        if k % 10 == 0:
            trace.add_frame(t + 800_000, t + 600_000, es.frame_id, es.encode({
                "EcuStatus_CRC": 0, "EcuStatus_Counter": 0, "EngineMode": 2 if k > 150 else 0,
                "DrsCommand": 0, "BrakeStability": 1, "LambdaTrim": -1.2, "KnockRetard": 1.25,
                "DetuneLevel": 10, "LambdaClosedLoop": 1}), 1)
        trace.add_sample(t, [1000.0 + k, 120.0 + k / 10, 600.0 + k, float(k % 2)])
    trace.add_event(steps * 1_000_000, "verdict", "pass")


@pytest.fixture(scope="session")
def filler():
    """The ``fill`` helper (a fixture: tests/ is not a package, so it is not importable)."""
    return fill


@pytest.fixture(scope="session")
def quantities():
    return QUANTITIES
