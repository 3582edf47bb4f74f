"""Issue 12: every class of bad input through ``hil run`` in a subprocess.

Each case writes a representative bad file (scenario, rig, ECU configuration, DBC) and
asserts what README promises: exit code 2, ONE line on stderr naming ``file:line``, no
traceback, and nothing run (no report directory written). The inputs are the kinds a
corpus written without looking at the loaders found (issue 12): numbers, YAML structure,
size and aliases, DBC bytes, configuration that names code, checks that used to happen
only once the run had started.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

HEAD = """\
name: probe
description: A scenario used to probe the input checks.
duration: 1 s
"""
EXPECT = "expect:\n  - never: 'EngineSpeed > 9000'\n"


def _hil_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "hil", "run", *args,
                           "--report", str(cwd / "reports")],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _assert_one_line(proc: subprocess.CompletedProcess[str], file: Path, pattern: str,
                     *, line: int | None = None) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1, lines[:20]
    assert "Traceback" not in proc.stderr
    where = re.escape(str(file)) + (f":{line}:" if line is not None else r":\d+:")
    assert re.search(where, lines[0]), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert len(lines[0]) < 400, lines[0]
    assert not (file.parent / "reports" / "scenarios").exists()  # nothing ran
    return lines[0]


@pytest.fixture
def scenario(tmp_path: Path):
    def write(text: str | bytes, name: str = "probe.yaml") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path
    return write


def _rig(tmp_path: Path, *, edit=None, ecu_edit=None, dbc: Path | None = None) -> Path:
    """A copy of rigs/sil.yaml (and of controllers/ecu.yaml when ``ecu_edit``)."""
    rig = yaml.safe_load((REPO / "rigs" / "sil.yaml").read_text())
    rig["dbc"] = str(dbc or REPO / "dbc" / "ntec5.dbc")
    rig["ecu_config"] = str(REPO / "controllers" / "ecu.yaml")
    if ecu_edit is not None:
        ecu = yaml.safe_load((REPO / "controllers" / "ecu.yaml").read_text())
        ecu["calibration"] = str(REPO / "controllers" / ecu["calibration"])
        ecu_edit(ecu)
        path = tmp_path / "ecu.yaml"
        path.write_text(yaml.safe_dump(ecu, sort_keys=False))
        rig["ecu_config"] = str(path)
    if edit is not None:
        edit(rig)
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(rig, sort_keys=False))
    return path


# -- numbers ------------------------------------------------------------------------------

NUMBERS = {
    "nan_set_value": (HEAD + "steps:\n  - at: 0.5 s\n    set: {driver.throttle_pct: .nan}\n"
                      + EXPECT, 6, r"finite number.*nan"),
    "inf_initial_value": (HEAD + "initial: {driver.throttle_pct: .inf}\n" + EXPECT, 4,
                          r"finite number.*inf"),
    "step_at_1e400_s": (HEAD + "steps:\n  - at: 1e400 s\n    set: {driver.throttle_pct: 1}\n"
                        + EXPECT, 5, r"longest time allowed \(24 h\)"),
    "latency_bound_1e400_s": (HEAD + "expect:\n  - latency: {from: 'EngineSpeed > 1', "
                              "to: 'FuelCut == 1', max: 1e400 s}\n", 5,
                              r"longest time allowed"),
    "duration_1e12_s": (HEAD.replace("1 s", "1e12 s") + EXPECT, 3, r"longest time allowed"),
    "duration_1e9999999_s": (HEAD.replace("1 s", "1e9999999 s") + EXPECT, 3,
                             r"longest time allowed"),
    "settle_band_inf": (HEAD + "expect:\n  - settle: {signal: Lambda, target: 1, band: .inf, "
                        "by: 0.5 s}\n", 5, r"band: expected a finite number"),
    "settle_target_nan": (HEAD + "expect:\n  - settle: {signal: Lambda, target: .nan, "
                          "band: 0.1, by: 0.5 s}\n", 5, r"target: expected a finite number"),
    "plant_param_out_of_range": (HEAD + "params: {vehicle.mass_kg: -5}\n" + EXPECT, 4,
                                 r"'vehicle.mass_kg' must be > 0"),
    "plant_switch_not_coupled": (HEAD + "params: {electric.enabled: 1}\n" + EXPECT, 4,
                                 r"electric.enabled: .*not coupled"),
    "hex_400_digits_value": (HEAD + "initial: {driver.throttle_pct: 0x" + "f" * 400 + "}\n"
                             + EXPECT, 4, r"finite number.*integer of 1600 bits"),
}


@pytest.mark.parametrize("case", sorted(NUMBERS))
def test_numbers(case, scenario, tmp_path):
    text, line, pattern = NUMBERS[case]
    path = scenario(text)
    _assert_one_line(_hil_run(str(path), cwd=tmp_path), path, pattern, line=line)


# -- YAML structure, size, aliases, encodings ---------------------------------------------

def _deep(n: int) -> str:
    return HEAD + "initial: " + "[" * n + "]" * n + "\n" + EXPECT


def _bomb(key: str) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "x-bomb:\n" + "".join(f"  {line}\n" for line in lines)
    if key == "description":
        return (bomb + "name: probe\ndescription: *i\nduration: 1 s\n" + EXPECT)
    return bomb + HEAD + "initial: {driver.throttle_pct: *i}\n" + EXPECT


STRUCTURE = {
    "nesting_10000_deep": (_deep(10_000), 4, r"nest(ed deeper than 64 levels|ing depth)"),
    "nesting_100_deep": (_deep(100), 4, r"nested deeper than 64 levels"),
    "expression_1000_added_terms": (HEAD + "expect:\n  - never: '" + " + ".join(
        ["EngineSpeed"] * 1000) + " > 1'\n", 5, r"longer than the limit of 1,000"),
    "expression_60_added_terms": (HEAD + "expect:\n  - never: '" + "+".join(
        ["Gear"] * 60) + " > 1'\n", 5, r"nests deeper than 50 levels"),
    "not_repeated_10000": (HEAD + "expect:\n  - never: '" + "not " * 10_000 + "FuelCut'\n",
                           5, r"longer than the limit"),
    "unary_minus_repeated_10000": (HEAD + "expect:\n  - never: '" + "-" * 10_000
                                   + "Gear > 1'\n", 5, r"longer than the limit"),
    "unary_minus_repeated_100": (HEAD + "expect:\n  - never: '" + "-" * 100
                                 + "Gear > 1'\n", 5, r"nests deeper than 50"),
    "hex_literal_400_digits": (HEAD + "expect:\n  - never: 'Gear > 0x" + "f" * 400 + "'\n",
                               5, r"beyond float64's range"),
    "empty_file": ("", 1, r"the file is empty"),
    "misspelt_required_key": (HEAD.replace("duration", "durration") + EXPECT, 3,
                              r"unknown key 'durration'.*did you mean 'duration'"),
    "alias_bomb_description": (_bomb("description"), None,
                               r"more than 1,000,000 values|description: expected"),
    "alias_bomb_initial_value": (_bomb("initial"), None,
                                 r"more than 1,000,000 values|expected a finite number"),
    # Error messages quote a bounded excerpt of the value, however large (_assert_one_line
    # holds every line under 400 characters).
    "half_megabyte_string_as_a_number": (HEAD + "initial: {driver.throttle_pct: '"
                                         + "x" * 500_000 + "'}\n" + EXPECT, 4,
                                         r"expected a number, got 'x{10,80}'?\.\.\."),
    "1000_char_unknown_key": (HEAD + "k" * 1000 + ": 1\n" + EXPECT, 4,
                           r"unknown key 'k{10,40}'?\.\.\. in scenario"),
    "python_tag_is_not_run": (HEAD + "initial: !!python/object/apply:os.system ['touch pwned']\n"
                              + EXPECT, 4, r"tag .*python/object/apply:os.system.* not allowed"),
    "python_name_tag_is_not_run": (HEAD + "description: !!python/name:os.system\n" + EXPECT, 4,
                                   r"tag .* not allowed"),
    "expression_dunder_is_not_run": (HEAD + "expect:\n  - never: \"__import__('os').system"
                                     "('touch pwned') == 0\"\n", 5, r"not allowed"),
    "expression_attribute_escape": (HEAD + "expect:\n  - never: \"(1).__class__ == 1\"\n", 5,
                                    r"not allowed"),
}


@pytest.mark.parametrize("case", sorted(STRUCTURE))
def test_structure(case, scenario, tmp_path):
    text, line, pattern = STRUCTURE[case]
    path = scenario(text)
    proc = _hil_run(str(path), cwd=tmp_path)
    _assert_one_line(proc, path, pattern, line=line)
    assert not (tmp_path / "pwned").exists()


def test_not_utf8(scenario, tmp_path):
    path = scenario((HEAD + "# caf\xe9\n" + EXPECT).encode("latin-1"))
    _assert_one_line(_hil_run(str(path), cwd=tmp_path), path, r"not UTF-8.*0xe9", line=4)


def test_file_above_the_size_limit(scenario, tmp_path):
    from hil.config.yamlio import MAX_FILE_BYTES

    path = scenario(HEAD + EXPECT + "#" * MAX_FILE_BYTES + "\n")
    line = _assert_one_line(_hil_run(str(path), cwd=tmp_path), path, r"larger than the limit")
    assert f"{path}:" in line


# -- rig, ECU configuration, calibration: checked before anything runs -------------------

def test_signal_map_unknown_dbc_signal(scenario, tmp_path):
    rig = _rig(tmp_path, edit=lambda r: r["signal_map"]["publish"].update(
        {"EngineSped": "sensor.engine_speed_rpm"}))
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path), rig,
                     r"unknown DBC signal 'EngineSped'.*did you mean 'EngineSpeed'")


def test_signal_map_nan_scale(scenario, tmp_path):
    rig = _rig(tmp_path, edit=lambda r: r["signal_map"]["publish"].update(
        {"Lambda": {"quantity": "sensor.lambda", "scale": float("nan")}}))
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path), rig,
                     r"scale: expected a finite non-zero number, got nan")


def test_bitrate_given_as_a_string(scenario, tmp_path):
    rig = _rig(tmp_path, edit=lambda r: r["bus"].update({"bitrate": "500000"}))
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path), rig,
                     r"bus.bitrate: expected a whole number of bit/s.*'500000'")


def _swap(cls: str):
    def edit(ecu):
        ecu["tasks"][1]["controllers"][0]["class"] = cls
    return edit


def test_controller_class_cannot_be_imported(scenario, tmp_path):
    rig = _rig(tmp_path, ecu_edit=_swap("controllers.detunr:Detuner"))
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path),
                     tmp_path / "ecu.yaml", r"cannot import 'controllers.detunr'")


def test_controller_that_is_not_a_controller_class(scenario, tmp_path):
    rig = _rig(tmp_path, ecu_edit=_swap("os:system"))
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path),
                     tmp_path / "ecu.yaml", r"'os:system' is not a controller class")


def test_controller_period_does_not_match_its_task(scenario, tmp_path):
    # The 1 ms fast path's class in the 10 ms task.
    rig = _rig(tmp_path, ecu_edit=_swap("controllers.safety:SafetyFast"))
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path),
                     tmp_path / "ecu.yaml",
                     r"declares a period of 1 ms but task t10ms runs every 10 ms")


def test_calibration_loader_must_be_registered(scenario, tmp_path):
    def edit(ecu):
        ecu["calibration_loader"] = "runpy:run_path"
    payload = tmp_path / "pwned.yaml"
    rig = _rig(tmp_path, ecu_edit=edit)
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path),
                     tmp_path / "ecu.yaml",
                     r"'runpy:run_path' is not a registered calibration loader")
    assert not payload.exists()


def test_unknown_calibration_set_in_a_scenario(scenario, tmp_path):
    path = scenario(HEAD + "calibration: road_carr\n" + EXPECT)
    _assert_one_line(_hil_run(str(path), cwd=tmp_path), path,
                     r"unknown calibration set 'road_carr'.*did you mean 'road_car'", line=4)


# -- DBC -----------------------------------------------------------------------------------

def test_dbc_of_random_bytes(scenario, tmp_path):
    import random

    dbc = tmp_path / "random.dbc"
    dbc.write_bytes(random.Random(12).randbytes(4096))
    rig = _rig(tmp_path, dbc=dbc)
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path), dbc,
                     r"not a DBC text file: byte 0x[0-9a-f]{2} is not cp1252 text")


def test_dbc_truncated_in_a_message(scenario, tmp_path):
    text = (REPO / "dbc" / "ntec5.dbc").read_text(encoding="cp1252")
    cut = text.index("BO_ ", text.index("BO_ ") + 1)
    cut = text.index(" SG_ ", text.index(" SG_ ", cut) + 1) + 12  # inside the 2nd signal
    dbc = tmp_path / "truncated.dbc"
    dbc.write_text(text[:cut], encoding="cp1252")
    rig = _rig(tmp_path, dbc=dbc)
    path = scenario(HEAD + EXPECT)
    _assert_one_line(_hil_run(str(path), "--rig", str(rig), cwd=tmp_path), dbc,
                     r"truncated|syntax|ends")


# -- calibration files named by a scenario ------------------------------------------------

ROAD = (REPO / "controllers" / "calibration" / "road_car.yaml").read_text()
_ROW0 = "      - [57.2, 57.4,"   # the ve map's first row


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


CALIBRATIONS = {
    "non_monotonic_axis": ("[800, 1200, 1600,", "[800, 1200, 1100,", "[800, 1200, 1100,",
                           r"not strictly increasing"),
    "nan_in_a_map": (_ROW0, "      - [.nan, 57.4,", ".nan", r"expected a finite number, got nan"),
    "inf_in_a_map": (_ROW0, "      - [.inf, 57.4,", ".inf", r"expected a finite number, got inf"),
    "string_in_a_map": (_ROW0, "      - [abc, 57.4,", "[abc", r"expected a number, got 'abc'"),
    "missing_row": (_ROW0 + " 57.7, 58, 58.3, 58.5, 58.7, 58.8, 58.7, 58.5, 58, 57.3]\n", "",
                    None, r"9 rows, expected 10"),
    "duplicate_key": ("  cylinders: 4\n", "  cylinders: 4\n  cylinders: 6\n", "cylinders: 6",
                      r"duplicate key 'cylinders'"),
    "yaml_syntax_error": ("  load: {unit: kPa,", "  load: {unit: kPa", None,
                          r"YAML syntax error"),
    "yaml_python_tag": ('  rev_limit: "6800 rpm"',
                        '  rev_limit: !!python/object/apply:os.system ["touch pwned"]',
                        "!!python", r"YAML tag '!!python/object/apply:os.system' is not allowed"),
}


@pytest.mark.parametrize("case", sorted(CALIBRATIONS))
def test_bad_calibration_file(case, scenario, tmp_path):
    """Every bad calibration the issue's corpus tried gave a traceback and exit 1 ("SimBus
    was not properly shut down"): now the calibration file's own line, before anything
    runs (the scenario names it; the check loads it with the rig's ECU configuration)."""
    old, new, needle, pattern = CALIBRATIONS[case]
    assert old in ROAD
    text = ROAD.replace(old, new, 1)
    cal = tmp_path / "bad_cal.yaml"
    cal.write_text(text)
    path = scenario(HEAD + "calibration: bad_cal.yaml\n" + EXPECT)
    _assert_one_line(_hil_run(str(path), cwd=tmp_path), cal, pattern,
                     line=_line(text, needle) if needle else None)
    assert not (tmp_path / "pwned").exists()
