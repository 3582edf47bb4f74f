"""The plant's two paths (plants/_jit.py, docs/plants/compiled.md): the kernels compiled by
numba (the default install) and the same kernels as plain Python (forced by
NTEC_HIL_PURE_PYTHON=1, what a machine without numba runs) give the same outputs to the
last bit.

Each path runs in its own interpreter (the path is chosen at import). The runs cover every
driver mode, part faults, every sensor fault mode, a set_state, the staged step with a
Python road-load part (the FMU slot) and a changed step size; the hash is over every output
of every step as float64 bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plants import _jit

ROOT = Path(__file__).resolve().parents[2]

RUN = r"""
import hashlib, struct, sys
import plants
from plants import _jit, build_plant
from plants.analysis import ReferenceEcu

h = hashlib.sha256()

def run(plant, seconds, dt=1e-3, ecu=None):
    for _ in range(int(round(seconds / dt))):
        if ecu is not None:
            ecu(plant, dt)
        o = plant.step(dt, plant.inputs)
        h.update(struct.pack(f"{len(o)}d", *o.values()))

race = build_plant("race_car", seed=3)
race.set_driver_mode("track")
run(race, 6.0, ecu=ReferenceEcu(lambda_target=0.85, boost_target_kpa=260))

road = build_plant("road_car", seed=1)
road.set_driver_mode("road", profile=[(0, 0), (8, 90), (14, 40)], loop=True)
ecu = ReferenceEcu()
run(road, 4.0, ecu=ecu)
road.inject_fault("turbo.wastegate", "stuck_closed")
road.inject_fault("injectors", "degraded", factor=0.8, ramp_s=1.0)
road.inject_fault("knock_sensor", "dead")
road.inject_fault("cooling", "degraded")
road.inject_fault("turbo", "efficiency_degraded", ramp_s=0.5)
faults = [("sensor.engine_speed_rpm", "noise", {"std": 30.0}),
          ("sensor.manifold_pressure_kpa", "drift", {"rate_per_s": 5.0}),
          ("sensor.boost_pressure_kpa", "offset", {"value": 12.0}),
          ("sensor.lambda", "intermittent", {"period_s": 0.3, "duty": 0.6}),
          ("sensor.coolant_temp_c", "open", {}), ("sensor.oil_temp_c", "short", {}),
          ("sensor.vehicle_speed_kph", "stuck", {})]
for target, mode, params in faults:
    road.inject_fault(target, mode, **params)
run(road, 5.0, ecu=ecu)
road.clear_fault("turbo.wastegate")
road.clear_fault("sensor.lambda")
run(road, 1.0, dt=2e-3, ecu=ecu)

dyno = build_plant("road_car", seed=2)
dyno.set_state({"engine.speed_rpm": 3000, "engine.coolant_temp_c": 30.0,
                "turbo.speed_rpm": 50000})
dyno.set_driver_mode("dyno", speed_rpm=5000, ramp_rpm_per_s=1500)
dyno.inputs["driver.throttle_pct"] = 70.0
run(dyno, 3.0, ecu=ReferenceEcu())

manual = build_plant("road_car")
manual.inputs.update({"driver.throttle_pct": 40.0, "driver.gear": 2, "road.grade_pct": 4,
                      "ecu.fuel_mass_mg": 30.0, "ecu.spark_advance_deg": 15.0})
run(manual, 1.0)
manual.road_load_part = lambda t, dt, load, drag: (load * 1.1 + 5.0, drag)
run(manual, 2.0)
manual.inputs.update({"driver.brake_pct": 60.0, "driver.throttle_pct": 0.0})
run(manual, 1.0)
print(_jit.COMPILED, h.hexdigest())
"""


def _run(pure: bool) -> tuple[str, str]:
    env = dict(os.environ)
    env.pop(_jit.PURE_PYTHON_ENV, None)
    if pure:
        env[_jit.PURE_PYTHON_ENV] = "1"
    proc = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    compiled, digest = proc.stdout.split()[-2:]
    return compiled, digest


@pytest.mark.slow
def test_compiled_and_pure_python_paths_are_bit_identical():
    compiled, digest_compiled = _run(pure=False)
    pure, digest_pure = _run(pure=True)
    # numba is a dependency: the default install runs compiled, the variable forces Python
    assert compiled == "True", "the default install did not run the compiled kernels"
    assert pure == "False", f"{_jit.PURE_PYTHON_ENV}=1 did not force the plain-Python kernels"
    assert digest_compiled == digest_pure


def test_the_fallback_is_chosen_by_the_environment(monkeypatch):
    monkeypatch.setenv(_jit.PURE_PYTHON_ENV, "1")
    assert _jit._pure_requested()
    for value in ("", "0"):
        monkeypatch.setenv(_jit.PURE_PYTHON_ENV, value)
        assert not _jit._pure_requested()


def test_a_plant_keeps_its_state_in_the_kernels_arrays():
    """The attributes of the parts read and write the arrays the kernels step."""
    from plants import build_plant

    plant = build_plant("road_car")
    plant.engine.p_im_pa = 55_000.0
    assert plant.engine.st[0] == 55_000.0
    plant.step(1e-3, plant.inputs)
    assert plant.engine.p_im_pa != 55_000.0
    assert plant.outputs["engine.manifold_pressure_kpa"] == plant.engine.p_im_pa * 1e-3
    plant.inject_fault("turbo.wastegate", "stuck_open")
    assert plant.health.wastegate == "stuck_open"
    plant.step(1e-3, plant.inputs)
    assert plant.turbo.wg_fault == "stuck_open" and plant.turbo.wg_pos == 1.0


PLAN = r"""
import os, sys
from plants import _jit, build_plant
first = _jit.plan(float(sys.argv[1]))
plant = build_plant("road_car")
again = _jit.plan(1.0)          # a plant exists: the path is fixed
kind = type(plant.engine.st).__name__
print(first, again, kind, "numba" in sys.modules)
"""


def _plan(seconds: float, env_value: str | None) -> list[str]:
    env = dict(os.environ)
    env.pop(_jit.PURE_PYTHON_ENV, None)
    if env_value is not None:
        env[_jit.PURE_PYTHON_ENV] = env_value
    proc = subprocess.run([sys.executable, "-c", PLAN, str(seconds)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


def test_a_short_run_plans_the_plain_python_kernels_and_never_loads_numba():
    """plants/_jit.py plan: below SHORT_RUN_S of simulated time the process keeps the
    plain-Python kernels (lists, numba not imported); above it, the compiled ones; the
    choice is fixed once a plant was built."""
    assert _plan(_jit.SHORT_RUN_S / 4, None) == ["False", "False", "list", "False"]
    assert _plan(_jit.SHORT_RUN_S * 3, None) == ["True", "True", "ndarray", "True"]


def test_the_environment_overrides_the_plan():
    assert _plan(1.0, "0") == ["True", "True", "ndarray", "True"]      # always compiled
    assert _plan(1000.0, "1") == ["False", "False", "list", "False"]   # always Python


WARM = r"""
import numpy as np
from plants import _jit, build_plant, composite
a, b = build_plant("road_car", seed=1), build_plant("road_car", seed=1)
before = a._big_s.copy()
a.warm_up()
loaded = len(composite.packed_step.signatures)   # the dispatcher, once a plant is built
same_state = bool(np.array_equal(a._big_s, before, equal_nan=True))   # NaN: "not yet"
out_a = dict(a.step(1e-3, a.inputs))
out_b = dict(b.step(1e-3, b.inputs))
print(loaded, same_state, out_a == out_b)
"""


def test_warm_up_loads_the_compiled_step_without_touching_the_plant():
    """A wall-clock bench warms the plant before its clock starts (hil/bench/wall.py): the
    compiled step is ready (numba has its machine code) and the plant steps as one that
    was not warmed."""
    env = dict(os.environ)
    env[_jit.PURE_PYTHON_ENV] = "0"
    proc = subprocess.run([sys.executable, "-c", WARM], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["1", "True", "True"]
