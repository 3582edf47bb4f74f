"""README's quickstart and CI must not drift apart: CI runs README's test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

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
