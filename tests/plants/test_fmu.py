"""FMU plants (docs/plants/fmu.md): a road-load FMU built from C source at test time
(tests/plants/fmu_src/roadload.c) replaces the composite plant's road load, through the
Python API and on the full SIL loop with ``hil run``; errors are one line, exit 2."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from fmu_build import build_fmu

from hil.cli import main
from plants import build_plant
from plants.fmu import FmuError, FmuPart, FmuPlant, Link, quantity_unit

REPO = Path(__file__).resolve().parents[2]
# The composite plant's air density at its default ambient (25 degC, 101.325 kPa).
RHO = 101325.0 / (287.05 * 298.15)
ROAD_CAR = {"m": 1500.0, "crr": 0.012, "cda": 0.65, "rho": RHO}   # plants/params/road_car.yaml
LINKS_IN = [Link("v", "vehicle.speed_kph"), Link("grade", "road.grade_pct")]
LINKS_OUT = [Link("F_total", "vehicle.road_load_n"), Link("F_aero", "aero.drag_n")]


@pytest.fixture(scope="module")
def roadload_fmu(tmp_path_factory):
    return build_fmu("roadload", tmp_path_factory.mktemp("fmu"))


def coast(plant, seconds=10.0, v_kph=100.0, grade_pct=0.0):
    plant.set_state(**{"vehicle.speed_kph": v_kph})
    plant.inputs["road.grade_pct"] = grade_pct
    for _ in range(round(seconds / 1e-3)):
        plant.step(1e-3)
    return plant.outputs["vehicle.speed_kph"]


def test_fmu_road_load_reproduces_the_builtin_one(roadload_fmu):
    """Same coefficients in the FMU as in road_car.yaml: the coast-down is the built-in
    plant's to rounding (km/h -> m/s and % -> 1 converted by the units), uphill too."""
    for grade in (0.0, 4.0):
        plant = FmuPart(roadload_fmu, slot="road_load", inputs=LINKS_IN, outputs=LINKS_OUT,
                        parameters=ROAD_CAR).attach(build_plant("road_car"))
        v_fmu = coast(plant, grade_pct=grade)
        v_ref = coast(build_plant("road_car"), grade_pct=grade)
        assert v_fmu == pytest.approx(v_ref, abs=1e-6), (grade, v_fmu, v_ref)
        assert plant.outputs["aero.drag_n"] > 0


def test_fmu_parameters_change_the_physics(roadload_fmu):
    """Double CdA in the FMU: the aero drag at 100 km/h doubles and the car coasts down
    faster than with the built-in road load."""
    plant = FmuPart(roadload_fmu, slot="road_load", inputs=LINKS_IN, outputs=LINKS_OUT,
                    parameters={**ROAD_CAR, "cda": 1.3}).attach(build_plant("road_car"))
    plant.set_state(**{"vehicle.speed_kph": 100.0})
    plant.step(1e-3)
    v = 100 / 3.6
    assert plant.outputs["aero.drag_n"] == pytest.approx(0.5 * RHO * 1.3 * v * v, rel=1e-9)
    assert coast(plant) < coast(build_plant("road_car")) - 1.0


def test_fmu_as_the_whole_plant(roadload_fmu):
    plant = FmuPlant(roadload_fmu, inputs=[Link("v", "vehicle.speed_kph")],
                     outputs=[Link("F_total", "vehicle.road_load_n")], parameters=ROAD_CAR)
    from plants.contract import check_plant

    assert check_plant(plant) is None
    assert plant.input_names == ("vehicle.speed_kph",)
    plant.inputs["vehicle.speed_kph"] = 72.0
    out = plant.step(1e-3)
    v = 20.0
    assert out["vehicle.road_load_n"] == pytest.approx(
        0.5 * RHO * 0.65 * v * v + 0.012 * 1500 * 9.81, rel=1e-9)
    assert plant.param_names == ("fmu.m", "fmu.crr", "fmu.cda", "fmu.rho")


@pytest.mark.parametrize("kind,kwargs,pattern", [
    ("unknown variable", {"inputs": [Link("vel", "vehicle.speed_kph")]},
     r"unknown input variable 'vel'; did you mean 'v'"),
    ("wrong causality", {"inputs": [Link("F_total", "vehicle.speed_kph")]},
     r"'F_total' is a output, not input"),
    ("units that do not convert", {"inputs": [Link("v", "road.grade_pct")]},
     r"'v' is in m/s, which does not convert to road.grade_pct in %"),
    ("a unit the FMU contradicts", {"inputs": [Link("v", "vehicle.speed_kph", "km/h")]},
     r"'v' is in m/s, not km/h"),
    ("a parameter it lacks", {"parameters": {"mass": 1.0}},
     r"unknown parameter variable 'mass'"),
    ("an FMI call that fails", {"parameters": {"m": -1.0}},
     r"fmi2ExitInitializationMode failed: parameter m \(vehicle mass\) must be > 0 kg"),
])
def test_fmu_errors_are_one_line(roadload_fmu, kind, kwargs, pattern):
    args = {"inputs": LINKS_IN, "outputs": LINKS_OUT, "parameters": ROAD_CAR, **kwargs}
    with pytest.raises(FmuError) as err:
        FmuPart(roadload_fmu, slot="road_load", **args).attach(build_plant("road_car"))
    assert "\n" not in str(err.value)
    assert re.search(pattern, str(err.value)), str(err.value)


def test_plant_units_come_from_the_quantity_names():
    assert quantity_unit("vehicle.speed_kph") == "km/h"
    assert quantity_unit("engine.manifold_pressure_kpa") == "kPa"
    assert quantity_unit("engine.lambda") == "1"
    assert quantity_unit("vehicle.accel_long_g") == "g_n"


# -- the full SIL loop, through hil run -------------------------------------------------

def fmu_rig(tmp: Path, fmu: Path, *, fmu_block: str | None = None) -> Path:
    block = fmu_block or f"""\
fmu:
  path: {fmu}
  replaces: road_load
  inputs:
    v: vehicle.speed_kph
    grade: {{quantity: road.grade_pct, unit: "1"}}
  outputs:
    F_total: vehicle.road_load_n
    F_aero: aero.drag_n
  parameters: {{m: 1500, crr: 0.012, cda: 0.65, rho: {RHO!r}}}
"""
    sil = (REPO / "rigs" / "sil.yaml").read_text()
    sil = sil.replace("../dbc/", f"{REPO}/dbc/").replace("../controllers/", f"{REPO}/controllers/")
    sil = sil.replace("name: sil\n", "name: sil_fmu_road_load\n" + block)
    path = tmp / "rig_fmu.yaml"
    path.write_text(sil)
    return path


COAST = """\
name: {name}
description: Road car coasting in neutral from 100 km/h with the FMU's road load.
rig: rig_fmu.yaml
duration: 5 s
{params}initial: {{vehicle.speed_kph: 100, vehicle.gear: 0}}
expect:
  - value: {{signal: vehicle.speed_kph, at: end, min: {lo}, max: {hi}}}
  - value: {{signal: VehicleSpeed, at: end, min: {lo_bus}, max: {hi_bus}}}
  - always: "FaultCodes == 0"
"""


def test_fmu_scenario_passes_on_the_sil_loop(roadload_fmu, tmp_path, capsys):
    """The gate's FMU scenario: the SIL loop (ECU runtime, CAN, plant node) with the road
    load from the FMU; the band is the built-in plant's coast-down (94.6 km/h after 5 s)
    +/- 0.3 km/h, and a scenario's params: fmu.cda reaches the FMU (double drag: the
    same band fails, a lower one passes)."""
    ref = coast(build_plant("road_car"), seconds=5.0)
    fmu_rig(tmp_path, roadload_fmu)
    base = tmp_path / "coast.yaml"
    base.write_text(COAST.format(name="fmu_coast", params="", lo=ref - 0.3, hi=ref + 0.3,
                                 lo_bus=ref - 1, hi_bus=ref + 1))
    report = tmp_path / "reports"
    assert main(["run", str(base), "--report", str(report)]) == 0, capsys.readouterr()
    result = json.loads((report / "scenarios" / "fmu_coast" / "result.json").read_text())
    assert result["passed"] and all(v["passed"] for v in result["verdicts"])
    drag = tmp_path / "coast_drag.yaml"
    drag.write_text(COAST.format(name="fmu_coast_drag", params="params: {fmu.cda: 1.3}\n",
                                 lo=ref - 0.3, hi=ref + 0.3, lo_bus=0, hi_bus=200))
    assert main(["run", str(drag), "--report", str(tmp_path / "r2")]) == 1
    capsys.readouterr()


def test_fmu_error_while_running_fails_the_scenario_in_one_line(roadload_fmu, tmp_path, capsys):
    fmu_rig(tmp_path, roadload_fmu)
    path = tmp_path / "steep.yaml"
    path.write_text("name: fmu_too_steep\ndescription: A grade the FMU refuses.\n"
                    "rig: rig_fmu.yaml\nduration: 1 s\nsteps:\n  - at: 0.5 s\n"
                    "    set: {road.grade_pct: 150}\nexpect:\n  - always: 'FaultCodes == 0'\n")
    report = tmp_path / "reports"
    assert main(["run", str(path), "--report", str(report)]) == 1
    capsys.readouterr()
    result = json.loads((report / "scenarios" / "fmu_too_steep" / "result.json").read_text())
    assert result["error"] == ("plant step at t=0.5000 s: FMU roadload.fmu: fmi2DoStep at "
                               "t=0.5 s failed: input grade must be within -1 .. 1 (a 45 "
                               "degree slope)")
    assert math.isclose(result["sim_s"], 0.5, abs_tol=0.002)


BAD_RIGS = {
    "unknown key": ("  replace: road_load\n", r":\d+:3: unknown key 'replace' in fmu "
                    r"\(did you mean 'replaces'\?\)"),
    "missing file": (None, r":\d+:9: path: 'nope.fmu' does not exist"),
    "unknown variable": ("  inputs: {vel: vehicle.speed_kph}\n",
                         r":\d+:\d+: fmu: roadload.fmu: unknown input variable 'vel'; did you mean 'v'"),
    "unknown part": ("  replaces: engine\n", r":\d+:\d+: fmu: unknown part 'engine'"),
    "bad parameter": ("  parameters: {m: heavy}\n",
                      r":\d+:\d+: fmu.parameters.m: expected a number, got 'heavy'"),
    "failing FMU": ("  parameters: {m: -5}\n", r":\d+:\d+: fmu: FMU roadload.fmu: "
                    r"fmi2ExitInitializationMode failed: parameter m \(vehicle mass\) must be"),
}


@pytest.mark.parametrize("case", sorted(BAD_RIGS))
def test_bad_fmu_rig_is_one_line_exit_2(roadload_fmu, tmp_path, capsys, case):
    line, pattern = BAD_RIGS[case]
    if line is None:
        block = "fmu:\n  path: nope.fmu\n  replaces: road_load\n  outputs: {F_total: vehicle.road_load_n}\n"
    else:
        block = (f"fmu:\n  path: {roadload_fmu}\n" + ("" if "replace" in line else "  replaces: road_load\n")
                 + line + ("" if "outputs" in line else "  outputs: {F_total: vehicle.road_load_n}\n"))
    rig = fmu_rig(tmp_path, roadload_fmu, fmu_block=block)
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: probe\nrig: rig_fmu.yaml\nduration: 1 s\n"
                    "expect:\n  - always: 'FaultCodes == 0'\n")
    code = main(["run", str(path), "--report", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert f"{rig}:" in err[0] and "Traceback" not in err[0]
    assert re.search(pattern, err[0]), err[0]


def test_unknown_fmu_parameter_in_a_scenario_is_one_line(roadload_fmu, tmp_path, capsys):
    fmu_rig(tmp_path, roadload_fmu)
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: A parameter the FMU does not have.\n"
                    "rig: rig_fmu.yaml\nduration: 1 s\nparams: {fmu.cdx: 1.0}\nexpect:\n  - always: 'FaultCodes == 0'\n")
    code = main(["run", str(path), "--report", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert re.search(rf"{re.escape(str(path))}:5:\d+: .*fmu\.cdx", err[0]), err[0]
