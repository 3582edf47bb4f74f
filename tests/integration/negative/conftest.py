"""Negative tests: deliberately defective controllers must make the right scenarios fail.

``defective_rig(replace={...})`` writes a copy of rigs/sil.yaml whose ECU configuration
is controllers/ecu.yaml with some controllers swapped for the defective doubles in
``defective.py`` (by controller name in ecu.yaml: ``{"safety_fast": "defective:X"}``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))  # so the ECU configuration can name "defective:Class"


@pytest.fixture
def defective_rig(tmp_path: Path) -> Callable[..., Path]:
    def make(replace: dict[str, str]) -> Path:
        ecu = yaml.safe_load((REPO / "controllers" / "ecu.yaml").read_text())
        ecu["calibration"] = str(REPO / "controllers" / ecu["calibration"])
        found = set()
        for task in ecu["tasks"]:
            for ctrl in task["controllers"]:
                if ctrl["name"] in replace:
                    ctrl["class"] = replace[ctrl["name"]]
                    found.add(ctrl["name"])
        missing = set(replace) - found
        assert not missing, f"no controller named {missing} in controllers/ecu.yaml"
        (tmp_path / "ecu.yaml").write_text(yaml.safe_dump(ecu, sort_keys=False))
        rig = yaml.safe_load((REPO / "rigs" / "sil.yaml").read_text())
        rig["dbc"] = str(REPO / "dbc" / "ntec5.dbc")
        rig["ecu_config"] = str(tmp_path / "ecu.yaml")
        path = tmp_path / "rig.yaml"
        path.write_text(yaml.safe_dump(rig, sort_keys=False))
        return path

    return make
