"""Your own plant class (docs/plants/contract.md): a rig's plant_class: names it by entry
point (group ntec_hil.plants) or module:Name; it is checked against the plant contract
before anything runs, and the example plant (tests/plants/example_plant.py) drives a
scenario on the full SIL loop through ``hil run``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from example_plant import DynoEngine

from hil.bench.assembly import build_plant
from hil.cli import main
from hil.config.rig import load_rig
from plants import CompositePlant
from plants.contract import check_plant

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def rig_text(head: str) -> str:
    return f"""\
name: sil_dyno_engine
dbc: {REPO}/dbc/ntec5.dbc
ecu_config: {REPO}/controllers/ecu.yaml
{head}bus: {{interface: sim, bitrate: 500000}}
step: 1 ms
signal_map:
  publish:
    EngineSpeed: engine.speed_rpm
    ManifoldPressure: engine.manifold_pressure_kpa
    BoostPressure: ambient.pressure_kpa
    Lambda: engine.lambda
    KnockIntensity: engine.knock_intensity
    CoolantTemp: engine.coolant_temp_c
    OilTemp: engine.coolant_temp_c
    IntakeAirTemp: intake.air_temp_c
  apply:
    FuelMass: ecu.fuel_mass_mg
    SparkAdvance: ecu.spark_advance_deg
    FuelCut: ecu.fuel_cut
    SparkCut: ecu.spark_cut
"""


EXAMPLE = "plant_class: example_plant:DynoEngine\nplant_options: {coolant_c: 90}\n"
SCENARIO = """\
name: dyno_engine_lambda
description: >
  The example plant class on the SIL loop: the ECU's speed-density fuelling and lambda
  loop run against it; a vacuum leak (its own fault mode) leans the mixture out.
rig: rig.yaml
duration: 4 s
mode: dyno
initial: {dyno.speed_rpm: 2500, driver.throttle_pct: 30}
steps:
  - at: 2 s
    fault: {part: intake, mode: leak, extra_air_pct: 8}
expect:
  # the ECU closes its lambda loop on the example plant and trims it to stoichiometric
  - eventually: {condition: "LambdaClosedLoop == 1", within: 0.5 s}
  - always: {condition: "abs(Lambda - 1) < 0.03", during: [1.5 s, 2 s]}
  # the leak leans the mixture out, and the loop trims richer to compensate
  - always: {condition: "Lambda > 1.04", during: [2.05 s, 2.3 s]}
  - always: {condition: "LambdaTrim > 12", during: [3.5 s, end]}
  - never: "EngineSpeed > 3000"
"""


@pytest.fixture
def on_path(monkeypatch):
    """The example plant's module importable, here and in any process hil run starts."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", str(HERE))


def test_example_plant_meets_the_contract():
    assert check_plant(DynoEngine()) is None
    assert check_plant(CompositePlant.__new__(CompositePlant)) is not None  # no inputs yet
    assert check_plant(object()) == "object has no 'input_names': a plant needs a tuple of input quantity names"


def test_example_plant_runs_a_scenario_on_the_sil_loop(tmp_path, on_path, capsys):
    (tmp_path / "rig.yaml").write_text(rig_text(EXAMPLE))
    path = tmp_path / "dyno.yaml"
    path.write_text(SCENARIO)
    report = tmp_path / "reports"
    assert main(["run", str(path), "--report", str(report)]) == 0, capsys.readouterr()
    result = json.loads((report / "scenarios" / "dyno_engine_lambda" / "result.json").read_text())
    assert result["passed"] and len(result["verdicts"]) == 5


def test_plant_class_by_entry_point(tmp_path):
    """plant_class: composite is plants.build_plant through entry point group
    ntec_hil.plants (pyproject.toml), with the rig's plant: as its params."""
    path = tmp_path / "rig.yaml"
    path.write_text(rig_text("plant: race_car\nplant_class: composite\n"))
    rig = load_rig(path)
    plant = build_plant(rig.plant, {"vehicle.mass_kg": 900}, rig=rig)
    assert isinstance(plant, CompositePlant)
    assert plant.params.name == "race_car" and plant.params.vehicle.mass_kg == 900


class NoFaults:
    input_names = ("a",)
    output_names = ("b",)

    def __init__(self, **kw):
        self.inputs = {"a": 0.0}
        self.outputs = {"b": 0.0}

    def step(self, dt, inputs=None):
        return self.outputs


BAD = {
    "unknown entry point": ("plant_class: composit\n",
                            r":\d+:14: plant_class: unknown plants name 'composit' \(did you mean 'composite'\?\)"),
    "missing attribute": ("plant_class: example_plant:DynoEngin\n",
                          r":\d+:14: plant_class: 'example_plant' has no 'DynoEngin' \(did you mean 'DynoEngine'\?\)"),
    "missing module": ("plant_class: no_such_module:Plant\n",
                       r":\d+:14: plant_class: cannot import 'no_such_module'"),
    "contract": ("plant_class: test_plant_class:NoFaults\n",
                 r":\d+:14: plant_class test_plant_class:NoFaults: NoFaults has no 'fault_modes': "
                 r"a plant needs a method fault_modes\(\)"),
    "unknown option": ("plant_class: example_plant:DynoEngine\nplant_options: {coolant: 90}\n",
                       r":\d+:14: plant_class example_plant:DynoEngine: .*unexpected keyword argument 'coolant'"),
    "options without class": ("plant_options: {coolant_c: 90}\n",
                              r":\d+:1: plant_options: only with plant_class:"),
    "not a string": ("plant_class: [a, b]\n", r":\d+:14: plant_class: expected an entry point"),
    "typo in key": ("plant_clas: composite\n",
                    r":\d+:1: unknown key 'plant_clas' in rig \(did you mean 'plant_class'\?\)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plant_class_is_one_line_exit_2(tmp_path, on_path, capsys, case):
    head, pattern = BAD[case]
    rig = tmp_path / "rig.yaml"
    rig.write_text(rig_text(head))
    path = tmp_path / "dyno.yaml"
    path.write_text(SCENARIO)
    code = main(["run", str(path), "--report", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert f"{rig}:" in err[0] and "Traceback" not in err[0]
    assert re.search(pattern, err[0]), err[0]


def test_the_docs_show_the_example_plant_verbatim():
    doc = (REPO / "docs" / "plants" / "contract.md").read_text()
    block = doc.split("## An example plant", 1)[1].split("```python\n", 1)[1].rsplit("```", 1)[0]
    assert block == (HERE / "example_plant.py").read_text()
