"""A calibration file is parsed once per process; each bench gets its own copy of it
(hil.nodes.ecu_config.load_calibration): controllers adapt their calibration as they run."""

from __future__ import annotations

import shutil
from pathlib import Path

from hil.config.rig import load_rig
from hil.nodes import ecu_config
from hil.nodes.ecu_config import load_calibration, load_ecu_config
from hil.wire.dbc import load_dbc

REPO = Path(__file__).resolve().parents[2]


def _config():
    rig = load_rig(REPO / "rigs" / "sil.yaml")
    return load_ecu_config(rig.ecu_config, load_dbc(rig.dbc))


def test_each_load_is_a_copy_of_the_file_as_parsed_once(monkeypatch):
    config = _config()
    first = load_calibration(config, "road_car")
    parsed = []
    real = ecu_config.calibration_loader

    def counting(ref, loc=None):
        ep = real(ref, loc)
        parsed.append(ep)
        return ep

    monkeypatch.setattr(ecu_config, "calibration_loader", counting)
    first.maps["ve"].z[0][0] += 5.0            # a controller adapting its own copy
    first.adapt.set_cell(first.adapt.fuel_pct, 0, 0, 3.0, by="test", why="adapt", at=0.0)
    second = load_calibration(config, "road_car")
    assert parsed == []                         # not parsed again
    assert second is not first and second.maps["ve"].z[0][0] == first.maps["ve"].z[0][0] - 5.0
    assert second.adapt.cells_adapted() == 0 and len(second.adapt.pending) == 0
    assert second.adapt.pending.maxlen == first.adapt.pending.maxlen
    assert second.adapt.lock is not first.adapt.lock and second.adapt.lock.acquire(False)
    assert type(second.scalars) is type(first.scalars) and second.scalars == first.scalars
    assert second.path == first.path


def test_a_changed_file_is_parsed_again(tmp_path):
    config = _config()
    path = tmp_path / "cal.yaml"
    source = REPO / "controllers" / "calibration" / "road_car.yaml"
    shutil.copy(source, path)
    before = load_calibration(config, path)
    path.write_text(source.read_text() + "\n# edited\n")
    after = load_calibration(config, path)
    assert after is not before
    assert len([k for k in ecu_config._CALIBRATIONS if k[1] == str(path.resolve())]) == 2
