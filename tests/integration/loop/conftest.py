"""Fixtures for the core loop: a rig and an ECU configuration that use the test doubles."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))  # so ecu.yaml can name "doubles:DoubleGovernor"

ECU_YAML = """\
timeout_cycles: 3
tasks:
  - name: fast
    trigger: PlantFast
    period: 1 ms
    exec_time: 50 us
    sends: [EcuFast]
    controllers:
      - {name: governor, class: "doubles:DoubleGovernor"}
  - name: t10ms
    period: 10 ms
    offset: 500 us
    controllers:
      - {name: status, class: "doubles:DoubleStatus"}
"""

RIG_YAML = """\
name: core-doubles
clock: simulated
ecu: local
dbc: {dbc}
ecu_config: ecu.yaml
bus: {{interface: sim, bitrate: 500000}}
step: 1 ms
signal_map:
  publish:
    EngineSpeed: plant.speed_rpm
    ManifoldPressure: plant.map_kpa
    Lambda: plant.lambda
    KnockIntensity: plant.knock
  apply:
    FuelMass: ecu.fuel_mass_mg
    SparkAdvance: ecu.spark_advance_deg
    FuelCut: ecu.fuel_cut
"""


@pytest.fixture
def doubles_rig(tmp_path: Path) -> Path:
    (tmp_path / "ecu.yaml").write_text(ECU_YAML)
    rig = tmp_path / "rig.yaml"
    rig.write_text(RIG_YAML.format(dbc=REPO / "dbc" / "ntec5.dbc"))
    return rig
