"""Product signal names come from the rig, checked against the DBC before any run: the
operator's fault reset and approvals (`operator:`) and preflight's sanity ranges
(`preflight.sanity`). The framework's code names none of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from hil.config.rig import check_signal_map, load_rig
from hil.errors import ConfigError, ScenarioError
from hil.scenario.model import Vocabulary, loads_scenario
from hil.wire.dbc import load_dbc

REPO = Path(__file__).resolve().parents[2]
DBC = load_dbc(REPO / "dbc" / "ntec5.dbc")

SIL = (REPO / "rigs" / "sil.yaml").read_text(encoding="utf-8")
UDP = (REPO / "rigs" / "udp.yaml").read_text(encoding="utf-8")


def _rig(tmp_path: Path, text: str) -> Path:
    """A copy of a shipped rig in tmp_path, its relative paths still resolving."""
    (tmp_path / "dbc").mkdir(exist_ok=True)
    (tmp_path / "dbc" / "ntec5.dbc").write_bytes((REPO / "dbc" / "ntec5.dbc").read_bytes())
    (tmp_path / "controllers").mkdir(exist_ok=True)
    (tmp_path / "controllers" / "ecu.yaml").write_bytes(
        (REPO / "controllers" / "ecu.yaml").read_bytes())
    rigs = tmp_path / "rigs"
    rigs.mkdir(exist_ok=True)
    path = rigs / "rig.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["sil", "udp", "vcan", "pcan"])
def test_every_shipped_rig_names_its_product_signals_and_they_exist(name):
    rig = load_rig(REPO / "rigs" / f"{name}.yaml")
    check_signal_map(rig, DBC, None, None)
    assert rig.operator.approve == {"ai_tuner": "AiTunerApprove"}
    assert rig.operator.reject == {"ai_tuner": "AiTunerReject"}
    assert rig.operator.fault_reset == "FaultReset"
    if rig.clock == "wall":
        assert rig.sanity["EngineSpeed"].max_rate == 30_000.0 and "EngineMode" in rig.sanity


@pytest.mark.parametrize("old,new,pattern", [
    ("approve: {ai_tuner: AiTunerApprove}", "approve: {ai_tuner: AiTunerAprove}",
     r"rig\.yaml:\d+:\d+: unknown DBC signal 'AiTunerAprove' \(did you mean 'AiTunerApprove'\?\)"),
    ("fault_reset: FaultReset", "fault_reset: FaultRest",
     r"rig\.yaml:\d+:\d+: unknown DBC signal 'FaultRest' \(did you mean 'FaultReset'\?\)"),
    ("    Lambda: {min: 0.5, max: 8}", "    Lambda_: {min: 0.5, max: 8}",
     r"rig\.yaml:\d+:\d+: unknown DBC signal 'Lambda_' \(did you mean 'Lambda'\?\)"),
])
def test_unknown_product_signal_in_a_rig_is_one_line_at_its_place(tmp_path, old, new, pattern):
    assert old in UDP
    path = _rig(tmp_path, UDP.replace(old, new))
    rig = load_rig(path)
    with pytest.raises(ConfigError) as exc:
        check_signal_map(rig, DBC, None, None)
    line = UDP.replace(old, new).splitlines().index(
        next(x for x in UDP.replace(old, new).splitlines() if new.strip() in x)) + 1
    assert re.match(pattern, str(exc.value).split(str(tmp_path) + "/rigs/")[1]), str(exc.value)
    assert exc.value.line == line


@pytest.mark.parametrize("old,new,message", [
    ("  fault_reset: FaultReset", "  fault_rest: FaultReset",
     "unknown key 'fault_rest' in operator (did you mean 'fault_reset'?)"),
    ("  sanity:", "  sanitty:", "unknown key 'sanitty' in preflight (did you mean 'sanity'?)"),
    ("{min: 0.5, max: 8}", "{min: 0.5, mx: 8}",
     "unknown key 'mx' in preflight.sanity.Lambda (did you mean 'max'?)"),
    ("{min: 0.5, max: 8}", "{min: 8, max: 0.5}", "preflight.sanity.Lambda: max 0.5 is below min 8"),
    ("{min: 0.5, max: 8}", "{min: low, max: 8}",
     "preflight.sanity.Lambda.min: expected a number, got 'low'"),
    ("approve: {ai_tuner: AiTunerApprove}", "approve: AiTunerApprove",
     "operator.approve: expected {<what>: <DBC signal>}"),
])
def test_bad_operator_or_sanity_section_is_one_line(tmp_path, old, new, message):
    assert old in UDP
    with pytest.raises(ConfigError) as exc:
        load_rig(_rig(tmp_path, UDP.replace(old, new)))
    assert message in str(exc.value) and exc.value.line is not None, str(exc.value)


def _scenario(step: str) -> str:
    return ("name: op\ndescription: an operator action probed.\nduration: 2 s\nsteps:\n"
            f"  - at: 1 s\n    {step}\n")


def test_approve_and_reject_targets_come_from_the_rig():
    rig = load_rig(REPO / "rigs" / "sil.yaml")
    vocab = Vocabulary.from_dbc(DBC, operator={"approve": tuple(rig.operator.approve),
                                               "reject": tuple(rig.operator.reject)})
    assert loads_scenario(_scenario("approve: ai_tuner"), vocab, "s.yaml").steps[0].approve \
        == "ai_tuner"
    with pytest.raises(ScenarioError, match=r"s\.yaml:6:13: unknown reject target 'ai_tunr' "
                       r"\(did you mean 'ai_tuner'\?\)"):
        loads_scenario(_scenario("reject: ai_tunr"), vocab, "s.yaml")
    bare = Vocabulary.from_dbc(DBC, operator={"approve": (), "reject": ()})
    with pytest.raises(ScenarioError, match=r"s\.yaml:6:14: approve: the rig names no "
                       r"operator\.approve signal"):
        loads_scenario(_scenario("approve: ai_tuner"), bare, "s.yaml")


def test_hil_run_checks_the_rigs_product_signals_before_running(tmp_path):
    """A scenario on a rig naming an unknown operator signal: exit 2, one line at the rig's
    line, no traceback, no report."""
    rig = _rig(tmp_path, SIL.replace("reject: {ai_tuner: AiTunerReject}",
                                     "reject: {ai_tuner: AiTunerRejekt}"))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"rig: {rig}\n" + _scenario("set: {driver.throttle_pct: 10}")
                        + "expect:\n  - never: 'EngineSpeed > 15000'\n")
    proc = subprocess.run([sys.executable, "-m", "hil", "run", str(scenario), "--report",
                           str(tmp_path / "reports")], capture_output=True, text=True,
                          timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert re.search(rf"{re.escape(str(rig))}:\d+:\d+: unknown DBC signal 'AiTunerRejekt' "
                     r"\(did you mean 'AiTunerReject'\?\)", lines[0]), lines[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "reports" / "op").exists()


def test_the_framework_names_no_product_signal():
    """The operator's and preflight's signals live in the rigs, not in hil/."""
    names = ("AiTunerApprove", "AiTunerReject", "FaultReset")
    for path in (REPO / "hil").rglob("*.py"):
        code = [line for line in path.read_text(encoding="utf-8").splitlines()
                if not line.lstrip().startswith("#")]
        for name in names:
            hits = [line for line in code if f'"{name}"' in line or f"'{name}'" in line]
            assert not hits, f"{path.relative_to(REPO)} names {name}: {hits}"
    preflight = (REPO / "hil" / "bench" / "preflight.py").read_text(encoding="utf-8")
    assert "SANITY" not in preflight and '"EngineMode"' not in preflight


# -- the plant's operating point in preflight, the overview signals of a run's plot ----------

def _plant_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from plants.composite import INPUT_NAMES, OUTPUT_NAMES

    return tuple(OUTPUT_NAMES), tuple(INPUT_NAMES)


@pytest.mark.parametrize("name", ["sil", "udp", "vcan", "pcan"])
def test_every_shipped_rig_names_its_overview_and_operating_point_and_they_exist(name):
    rig = load_rig(REPO / "rigs" / f"{name}.yaml")
    check_signal_map(rig, DBC, *_plant_names())
    assert rig.overview[:3] == ("EngineSpeed", "BoostPressure", "Lambda")
    if rig.clock == "wall":
        assert rig.operating_point.mode == "dyno"
        assert rig.operating_point.inputs == {"dyno.speed_rpm": 2000.0,
                                              "driver.throttle_pct": 15.0}


@pytest.mark.parametrize("old,new,pattern", [
    ("inputs: {dyno.speed_rpm: 2000,", "inputs: {dyno.sped_rpm: 2000,",
     r"rig\.yaml:\d+:\d+: preflight\.operating_point\.inputs: the plant has no input "
     r"'dyno\.sped_rpm' \(did you mean 'dyno\.speed_rpm'\?\)"),
    ("overview: [EngineSpeed, BoostPressure,", "overview: [EngineSpeed, BoostPresure,",
     r"rig\.yaml:\d+:\d+: overview: 'BoostPresure' is neither a DBC signal nor a plant "
     r"output \(did you mean 'BoostPressure'\?\)"),
])
def test_unknown_plant_name_or_overview_signal_is_one_line_at_its_place(tmp_path, old, new,
                                                                        pattern):
    assert old in UDP
    text = UDP.replace(old, new)
    rig = load_rig(_rig(tmp_path, text))
    with pytest.raises(ConfigError) as exc:
        check_signal_map(rig, DBC, *_plant_names())
    assert re.match(pattern, str(exc.value).split(str(tmp_path) + "/rigs/")[1]), str(exc.value)
    assert exc.value.line == next(i for i, x in enumerate(text.splitlines(), 1) if new in x)


@pytest.mark.parametrize("old,new,message", [
    ("inputs: {dyno.speed_rpm: 2000,", "inputs: {dyno.speed_rpm: fast,",
     "preflight.operating_point.inputs.dyno.speed_rpm: expected a number, got 'fast'"),
    ("    mode: dyno ", "    mode: [dyno] ",
     "preflight.operating_point.mode: expected the plant's driver mode, got ['dyno']"),
    ("    mode: dyno ", "    mood: dyno ",
     "unknown key 'mood' in preflight.operating_point (did you mean 'mode'?)"),
    ("overview: [EngineSpeed,", "overview: [12,", "overview: expected a list of signal names"),
])
def test_bad_operating_point_or_overview_is_one_line(tmp_path, old, new, message):
    assert old in UDP
    with pytest.raises(ConfigError) as exc:
        load_rig(_rig(tmp_path, UDP.replace(old, new)))
    assert message in str(exc.value) and exc.value.line is not None, str(exc.value)


def test_runner_preflight_and_demo_name_no_dbc_signal():
    """The overview plot's fallback, preflight's operating point and hil demo's table come
    from the rig (`overview`, `preflight.operating_point`)."""
    signals = {s.name for m in DBC.messages for s in m.signals}
    for rel in ("hil/run/runner.py", "hil/bench/preflight.py", "hil/cli/demo.py"):
        code = [line for line in (REPO / rel).read_text(encoding="utf-8").splitlines()
                if not line.lstrip().startswith("#")]
        hits = sorted({name for line in code for name in signals
                       if f'"{name}"' in line or f"'{name}'" in line})
        assert not hits, f"{rel} names DBC signals {hits}"
    preflight = (REPO / "hil" / "bench" / "preflight.py").read_text(encoding="utf-8")
    assert '"dyno.speed_rpm"' not in preflight and '"driver.throttle_pct"' not in preflight
