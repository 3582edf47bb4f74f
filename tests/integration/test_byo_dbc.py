"""Bring your own DBC (issue 16): a DBC whose signal names and frame ids differ from
dbc/ntec5.dbc drives the unchanged controllers through ecu.yaml's ``signal_names`` and the
rig's ``signal_map``; without the name map the ECU refuses it at load, in one line."""

from __future__ import annotations

import re
from pathlib import Path

import cantools
import pytest

from hil.cli import main

ROOT = Path(__file__).resolve().parents[2]
RENAMED = {"EngineSpeed": "EngSpeed", "Lambda": "LambdaMeas"}
ID_SHIFT = 0x400

SCENARIO = """\
name: byo_dbc_lambda
description: >
  Part load on the dyno over a DBC with EngineSpeed and Lambda renamed and every frame id
  moved: the lambda loop closes on the renamed signals and settles at its target.
duration: 4 s
mode: dyno
seed: 0
initial: {dyno.speed_rpm: 2000, driver.throttle_pct: 16, engine.coolant_temp_c: 90}
expect:
  - always: {condition: "LambdaClosedLoop == 1", during: [1 s, end]}
  - settle: {signal: LambdaMeas, target: 1.0, band: 0.03, by: 2 s}
  - value: {signal: EngSpeed, at: end, min: 1950, max: 2050}
  - always: "FaultCodes == 0 and EngineMode == 'NORMAL'"
"""


def _renamed_dbc(path: Path) -> None:
    db = cantools.database.load_file(ROOT / "dbc" / "ntec5.dbc", strict=True)
    for message in db.messages:
        message.frame_id += ID_SHIFT
        for signal in message.signals:
            signal.name = RENAMED.get(signal.name, signal.name)
    path.write_text(db.as_dbc_string(), encoding="utf-8")


def _rename_in_rig(text: str, old: str, new: str) -> str:
    """A DBC signal renamed where the rig names it: the signal map's keys and the overview
    list."""
    text = re.sub(rf"^(\s+){old}:", rf"\g<1>{new}:", text, flags=re.M)
    return re.sub(rf"\b{old}\b(?=[,\]])", new, text)


def _bench(tmp_path: Path, *, name_map: bool) -> tuple[Path, Path, Path]:
    dbc = tmp_path / "other.dbc"
    _renamed_dbc(dbc)
    ecu_text = (ROOT / "controllers" / "ecu.yaml").read_text(encoding="utf-8")
    ecu_text = ecu_text.replace("calibration: calibration/road_car.yaml",
                                f"calibration: {ROOT / 'controllers' / 'calibration' / 'road_car.yaml'}")
    if name_map:
        ecu_text += "signal_names:\n" + "".join(f"  {a}: {b}\n" for a, b in RENAMED.items())
    ecu = tmp_path / "ecu.yaml"
    ecu.write_text(ecu_text, encoding="utf-8")
    rig_text = (ROOT / "rigs" / "sil.yaml").read_text(encoding="utf-8")
    rig_text = rig_text.replace("dbc: ../dbc/ntec5.dbc", f"dbc: {dbc}")
    rig_text = rig_text.replace("ecu_config: ../controllers/ecu.yaml", f"ecu_config: {ecu}")
    for old, new in RENAMED.items():
        rig_text = _rename_in_rig(rig_text, old, new)
    rig = tmp_path / "rig.yaml"
    rig.write_text(rig_text, encoding="utf-8")
    scenario = tmp_path / "byo_dbc_lambda.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    return rig, ecu, scenario


def _run(rig: Path, scenario: Path, reports: Path) -> int:
    return main(["run", str(scenario), "--rig", str(rig), "--report", str(reports),
                 "--no-plots", "--trace", "none", "-q"])


def test_renamed_dbc_with_name_map_passes_a_scenario(tmp_path, capsys):
    rig, _ecu, scenario = _bench(tmp_path, name_map=True)
    db = cantools.database.load_file(tmp_path / "other.dbc")
    assert {m.frame_id for m in db.messages}.isdisjoint(
        {m.frame_id for m in cantools.database.load_file(ROOT / "dbc" / "ntec5.dbc").messages})
    names = {s.name for m in db.messages for s in m.signals}
    assert "EngineSpeed" not in names and "Lambda" not in names
    code = _run(rig, scenario, tmp_path / "reports")
    out = capsys.readouterr()
    assert code == 0, out.out[-3000:] + out.err[-2000:]


def test_renamed_dbc_without_name_map_is_refused_in_one_line(tmp_path, capsys):
    """Before: the bench ran, EngineSpeed and Lambda read as their defaults and the lambda
    controller stayed open loop with no warning. After: exit 2, one line at ecu.yaml."""
    rig, ecu, scenario = _bench(tmp_path, name_map=False)
    reports = tmp_path / "reports"
    code = _run(rig, scenario, reports)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert re.search(rf"{re.escape(str(ecu))}:\d+:\d+: ", err[0]), err[0]
    assert re.search(r"reads '(EngineSpeed|Lambda)'", err[0]) and "signal_names" in err[0]
    assert "Traceback" not in err[0]
    assert not (reports / "junit.xml").exists()


@pytest.mark.parametrize(("entry", "pattern"), [
    ("  EngineSpeed: EngSped\n  Lambda: LambdaMeas\n", r"EngSped.*no such signal.*'EngSpeed'"),
    ("  EngineSpeed: EngSpeed\n  Lambda: EngSpeed\n", r"both map to the DBC signal 'EngSpeed'"),
])
def test_bad_name_map_is_one_line(tmp_path, capsys, entry, pattern):
    rig, ecu, scenario = _bench(tmp_path, name_map=False)
    ecu.write_text(ecu.read_text(encoding="utf-8") + "signal_names:\n" + entry, encoding="utf-8")
    code = _run(rig, scenario, tmp_path / "reports")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert f"{ecu}:" in err[0] and re.search(pattern, err[0]), err[0]


def test_an_unwritten_sent_signal_is_refused(tmp_path, capsys):
    """A sent signal renamed in the DBC (FuelMass -> InjMass) with no controller output
    mapped to it would go out as a constant: refused at load."""
    rig, ecu, scenario = _bench(tmp_path, name_map=True)
    dbc = tmp_path / "other.dbc"
    dbc.write_text(re.sub(r"\bFuelMass\b", "InjMass", dbc.read_text(encoding="utf-8")),
                   encoding="utf-8")
    rig.write_text(_rename_in_rig(rig.read_text(encoding="utf-8"), "FuelMass", "InjMass"),
                   encoding="utf-8")
    code = _run(rig, scenario, tmp_path / "reports")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert f"{ecu}:" in err[0] and "'InjMass'" in err[0] and "written by no controller" in err[0]
