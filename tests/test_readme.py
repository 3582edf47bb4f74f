"""README's quickstart and CI must not drift apart: CI runs README's test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def quickstart_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Quickstart.*?```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no Quickstart code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_quickstart_is_two_commands():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert "pip install -e '.[test]'" in commands[0]


def test_ci_runs_the_readme_test_command():
    test_command = quickstart_commands()[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert test_command in ci.splitlines(), f"{test_command!r} is not a line of .ci/run"


# -- the gate after the tests: mypy and ruff, each failing CI ---------------------------------

_FAKE_TOOL = """#!/bin/sh
# Stands in for python3 / the venv's python, mypy and ruff: records the call, exits as told.
echo "$(basename "$0") $*" >> "$CI_CALLS"
case "$(basename "$0") $*" in
  "python3 -m venv "*) mkdir -p "$3/bin"
     for tool in python mypy ruff; do cp "$0" "$3/bin/$tool"; done; exit 0 ;;
  "python -m pytest"*) exit "$FAKE_PYTEST" ;;
  mypy*) exit "$FAKE_MYPY" ;;
  ruff*) exit "$FAKE_RUFF" ;;
esac
exit 0
"""


def _run_ci(tmp_path: Path, *, pytest: int = 0, mypy: int = 0, ruff: int = 0
            ) -> tuple[int, list[str]]:
    """.ci/run in a scratch checkout whose python3, pytest, mypy and ruff exit as given."""
    import os
    import subprocess

    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_text((REPO / ".ci" / "run").read_text())
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text(_FAKE_TOOL)
    fake.chmod(0o755)
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "CI_CALLS": str(calls), "FAKE_PYTEST": str(pytest), "FAKE_MYPY": str(mypy),
           "FAKE_RUFF": str(ruff)}
    done = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, [c.strip() for c in calls.read_text().splitlines()]


def test_ci_type_checks_and_lints_after_the_readme_test_command(tmp_path):
    code, calls = _run_ci(tmp_path)
    assert code == 0
    tools = [c.split()[0] for c in calls]
    test_call = "python " + quickstart_commands()[1].split(maxsplit=1)[1]
    assert test_call in calls
    assert calls.index(test_call) < tools.index("mypy") < tools.index("ruff")
    assert "mypy" in calls  # no arguments: [tool.mypy] in pyproject.toml names the files


def test_ci_fails_when_the_type_check_fails(tmp_path):
    code, calls = _run_ci(tmp_path, mypy=1)
    assert code != 0
    assert any(c.startswith("ruff") for c in calls)  # the linter still reports


@pytest.mark.parametrize("codes", [{"ruff": 1}, {"pytest": 1}, {"pytest": 5}],
                         ids=["lint", "tests", "no-tests-collected"])
def test_ci_fails_when_the_linter_or_the_tests_fail(tmp_path, codes):
    code, calls = _run_ci(tmp_path, **codes)
    assert code != 0
    assert "mypy" in calls  # the type check runs whatever the tests did
