"""Bad input to the CLI: one line naming file:line:col, exit code 2, never a traceback."""

from __future__ import annotations

import re

import pytest

from hil.cli import main

GOOD_HEAD = """\
name: probe
description: A scenario used to probe the error messages.
duration: 1 s
"""

CASES = {
    "yaml_syntax": (GOOD_HEAD + "expect:\n  - never: [unclosed\n", r":6:\d+: .*YAML syntax"),
    "unknown_key": (GOOD_HEAD + "expekt:\n  - never: 'EngineSpeed > 9000'\nexpect: []\n",
                    r":4:1: unknown key 'expekt'.*did you mean 'expect'"),
    "unknown_signal": (GOOD_HEAD + "expect:\n  - never: 'EngineSped > 9000'\n",
                       r":5:\d+: .*'EngineSped'.*did you mean 'EngineSpeed'"),
    "bad_unit": (GOOD_HEAD + "expect:\n  - latency: {from: 'EngineSpeed > 1', to: 'FuelCut == 1',"
                 " max: 1 parsec}\n", r":5:\d+: .*unit"),
    "bad_expression": (GOOD_HEAD + "expect:\n  - never: 'EngineSpeed >> 9000'\n",
                       r":5:\d+: "),
    "impossible_time": (GOOD_HEAD + "steps:\n  - at: 2 s\n    set: {driver.throttle_pct: 10}\n"
                        "expect:\n  - never: 'EngineSpeed > 9000'\n", r":5:\d+: .*(after|beyond|duration)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_is_one_line_exit_2(case, tmp_path, capsys):
    text, pattern = CASES[case]
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    path = scenarios / f"{case}.yaml"
    path.write_text(text)
    code = main(["run", str(path), "--report", str(tmp_path / "reports")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert str(path) in err[0]
    assert re.search(pattern, err[0]), err[0]
    assert "Traceback" not in err[0]


def test_missing_path_is_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_rig_is_one_line(tmp_path, capsys):
    rig = tmp_path / "rig.yaml"
    rig.write_text("dbc: ../dbc/ntec5.dbc\nbus: {interface: sim}\nclokc: simulated\n")
    code = main(["demo", "--rig", str(rig), "--seconds", "0.01", "--no-files"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{rig}:" in err[0] and "unknown key 'clokc'" in err[0] and "'clock'" in err[0]


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for sub in ("run", "demo", "dbc"):
        assert sub in out
